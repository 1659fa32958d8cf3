"""The web app end to end, in a real headless Chromium driven by Playwright.

`digitlens.web.serve` runs in a subprocess with a model trained briefly on real MNIST (two epochs,
a few seconds), exactly as `digitlens serve MODEL` runs it. The tests draw digits with mouse
strokes, click neurons, take a backprop step, train for an epoch and load a Keras file, and save
screenshots to artifacts/screenshots/ for people to look at.

Chromium is Debian's (`apt-get install chromium`), at /usr/bin/chromium or $DIGITLENS_CHROMIUM.
"""

import math
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
SHOTS = REPO / "artifacts" / "screenshots"
FIXTURES = Path(__file__).parent / "fixtures"
CHROMIUM = os.environ.get("DIGITLENS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]

# Strokes on the 336 x 336 drawing board, as a hand would draw them.
SEVEN = [[(75, 70), (255, 70), (190, 170), (150, 285)]]
ONE = [[(160, 50), (172, 160), (176, 290)]]
ZERO = [[(168 + 70 * math.sin(t / 24 * 2 * math.pi), 168 - 115 * math.cos(t / 24 * 2 * math.pi)) for t in range(26)]]
THREE = [[(90, 80), (150, 50), (230, 75), (225, 130), (160, 165), (235, 200), (235, 265), (160, 295), (85, 270)]]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def model_file(mnist, tmp_path_factory):
    """The lesson's network after two epochs on all of MNIST (batch 128), saved as .keras."""
    from digitlens import recipes
    from digitlens.io import save_model

    (x_train, y_train), _ = mnist
    model = recipes.build_model(seed=0)
    recipes.train(model, x_train, y_train, recipes.get_recipe("default", epochs=2))
    model.class_names = [str(i) for i in range(10)]
    path = tmp_path_factory.mktemp("model") / "lesson.keras"
    save_model(model, path)
    return path


@pytest.fixture(scope="module")
def server(model_file, mnist_dir, tmp_path_factory):
    """`serve(MODEL)` in a subprocess on a free port; yields its URL."""
    port = free_port()
    home = tmp_path_factory.mktemp("home")
    env = dict(os.environ, XDG_CACHE_HOME=str(home / "cache"), XDG_STATE_HOME=str(home / "state"),
               HOME=str(home))
    code = ("import sys; from digitlens.web import serve; "
            "serve(model_path=sys.argv[1], port=int(sys.argv[2]), data_dir=sys.argv[3])")
    process = subprocess.Popen([sys.executable, "-c", code, str(model_file), str(port), str(mnist_dir)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(url + "api/status", timeout=1).read()
            break
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                process.kill()
                pytest.fail(f"the server did not start:\n{process.stdout.read()}")
            time.sleep(0.1)
    yield url
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright import sync_api as playwright_api
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set DIGITLENS_CHROMIUM)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.goto(server)
    page.wait_for_selector("body[data-ready=true]")
    yield page
    page.close()
    assert not errors, errors


def draw(page, strokes, pause=0):
    """Mouse strokes on the board, given in its 336 x 336 coordinates."""
    box = page.get_by_test_id("draw-canvas").bounding_box()
    scale = box["width"] / 336

    def at(x, y):
        return box["x"] + x * scale, box["y"] + y * scale

    for stroke in strokes:
        page.mouse.move(*at(*stroke[0]))
        page.mouse.down()
        for (ax, ay), (bx, by) in zip(stroke, stroke[1:]):
            for t in range(1, 7):
                page.mouse.move(*at(ax + (bx - ax) * t / 6, ay + (by - ay) * t / 6))
                if pause:
                    page.wait_for_timeout(pause)
        page.mouse.up()


def expect_prediction(page, digit):
    from playwright.sync_api import expect

    expect(page.get_by_test_id("prediction")).to_have_text(str(digit), timeout=5000)
    page.wait_for_timeout(150)     # let the last in-flight answer land
    expect(page.get_by_test_id("prediction")).to_have_text(str(digit))


def probability(page, digit):
    return float(page.get_by_test_id(f"prob-{digit}").inner_text().rstrip("%")) / 100


def shot(page, name, full_page=False):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def test_draw_digits_and_see_them_recognised(page):
    from playwright.sync_api import expect

    expect(page.get_by_test_id("prediction")).to_have_text("?")
    for strokes, digit in ((SEVEN, 7), (ONE, 1), (ZERO, 0), (THREE, 3)):
        page.get_by_test_id("clear").click()
        expect(page.get_by_test_id("prediction")).to_have_text("?")
        draw(page, strokes)
        expect_prediction(page, digit)
        assert probability(page, digit) > 0.5
        probs = [probability(page, k) for k in range(10)]
        assert abs(sum(probs) - 1) < 0.01 and max(probs) == probs[digit]
    # the hidden neurons are lit, the 28x28 preparation and the flatten strip are drawn
    lit = page.eval_on_selector_all(".neuron", "cells => cells.filter(c => c.style.background).length")
    assert lit == 256
    assert page.get_by_test_id("neuron-255").is_visible()
    assert page.eval_on_selector("#prep-cropped", "img => img.naturalWidth > 0")
    shot(page, "draw-1280x800")


def test_the_network_updates_at_least_ten_times_a_second_while_drawing(page):
    answered = []
    page.on("response", lambda r: r.url.endswith("/api/predict") and answered.append(time.perf_counter()))
    started = time.perf_counter()
    draw(page, [[(60, 168), (280, 168), (60, 200), (280, 200)]], pause=40)   # about 1.5 s of drawing
    seconds = time.perf_counter() - started
    assert len(answered) / seconds >= 10, (len(answered), seconds)


def test_inspect_a_neuron_and_an_output(page):
    from playwright.sync_api import expect

    draw(page, SEVEN)
    expect_prediction(page, 7)
    page.get_by_test_id("neuron-42").click()
    body = page.locator("#inspect-body")
    expect(body).to_contain_text("Hidden neuron 42")
    expect(body).to_contain_text("relu(z)")
    colours = page.eval_on_selector("#inspect-body canvas", """c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set(); for (let i = 0; i < d.length; i += 4) seen.add(d[i] + ',' + d[i+1] + ',' + d[i+2]);
        return [c.width, c.height, seen.size]; }""")
    assert colours[:2] == [28, 28] and colours[2] > 50            # a picture of 784 weights, not a blank
    page.locator("#inspect-body").scroll_into_view_if_needed()
    shot(page, "inspect-neuron")

    page.get_by_test_id("output-7").click()
    expect(body).to_contain_text("Output 7")
    expect(body).to_contain_text("Pushed it up")
    assert page.locator(".neuron.push-up").count() > 0
    # keyboard: into the grid, move, and Enter inspects
    page.get_by_test_id("neuron-0").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(body).to_contain_text("Hidden neuron 17")
    page.locator("#inspect-body").scroll_into_view_if_needed()
    shot(page, "inspect-output-keyboard")


def test_one_backprop_step(page):
    from playwright.sync_api import expect

    draw(page, SEVEN)
    expect_prediction(page, 7)
    page.click("#tab-backprop")
    page.get_by_test_id("bp-label-3").click()
    page.get_by_test_id("backprop-step").click()
    expect(page.locator("#bp-body")).to_be_visible()
    text = page.get_by_test_id("bp-prob-3").inner_text()
    before, after = (float(v) for v in re.findall(r"([\d.]+)%", text))
    assert after > before
    assert page.locator("#bp-up li").count() == 10
    shot(page, "backprop")


def test_model_and_data_then_load_a_mistake_into_draw(page):
    from playwright.sync_api import expect

    page.click("#tab-model")
    expect(page.locator("#params-table")).to_contain_text("203,530")
    expect(page.locator("#params-table")).to_contain_text("784 x 256 = 200,704 weights")
    expect(page.locator("#confusion td").first).to_be_visible()
    expect(page.locator(".mistake").first).to_be_visible(timeout=10000)
    shot(page, "model-and-data", full_page=True)
    mistake = page.locator(".mistake").first
    label, read_as = re.findall(r"(\d) read as (\d)", mistake.inner_text())[0]
    mistake.click()
    expect(page.locator("#panel-draw")).to_be_visible()
    expect_prediction(page, read_as)
    expect(page.locator("#digit-source")).to_contain_text(f"labelled {label}")


def test_guided_tour_walks_through_the_lesson(page):
    from playwright.sync_api import expect

    page.get_by_test_id("tour-start").click()
    expect_prediction(page, 7)                  # the tour starts with a digit (MNIST test image #0) to look at
    titles = []
    for _ in range(10):
        title = page.locator("#tour-title").inner_text()
        titles.append(title)
        if "Counting" in title:
            expect(page.locator("#tour-text")).to_contain_text("203,530")
        if "Dense connections" in title:
            page.wait_for_timeout(400)          # the spotlight glides to its target
            shot(page, "tour-dense")
        page.get_by_test_id("tour-next").click()
    assert titles[1] == "1. The data" and titles[-1] == "9. One step of backprop"
    expect(page.locator("#tour")).to_be_hidden()


def test_upload_a_picture(page, tmp_path):
    from PIL import Image, ImageDraw

    photo = Image.new("RGB", (400, 300), "white")     # dark ink on paper, like a photo
    ImageDraw.Draw(photo).line([(160, 40), (175, 260)], fill="black", width=22)
    photo.save(tmp_path / "one.png")
    page.get_by_test_id("image-upload").set_input_files(str(tmp_path / "one.png"))
    expect_prediction(page, 1)


def test_train_for_one_epoch_and_watch_the_curve_grow(page):
    from playwright.sync_api import expect

    page.click("#tab-train")
    # before training: the curves of how the loaded model was trained (its saved History)
    expect(page.locator("#epoch-table tbody tr")).to_have_count(2)
    assert page.get_by_test_id("train-curve").get_attribute("data-source") == "history"
    page.fill("#t-epochs", "1")            # the lesson's settings otherwise: 60,000 images, batches of 32
    page.get_by_test_id("train-start").click()
    curve = page.get_by_test_id("train-curve")
    counts = []
    deadline = time.time() + 40
    while time.time() < deadline:
        if curve.get_attribute("data-source") == "job":       # not the loaded model's own history
            counts.append(int(curve.get_attribute("data-points")))
        if page.locator("#train-status").inner_text().startswith(("Done", "Stopped")):
            break
        page.wait_for_timeout(250)
    growing = [c for c in counts if 0 < c < 1875]
    assert len(set(growing)) >= 3 and growing == sorted(growing), counts   # it grew while training ran
    expect(page.locator("#train-status")).to_contain_text("Done", timeout=30000)
    assert int(curve.get_attribute("data-points")) == 1875                  # 60,000 / 32 batches
    assert page.locator("#epoch-table tbody tr").count() == 1
    expect(page.locator("#model-origin")).to_contain_text("trained here")
    shot(page, "train-1280x800")
    page.set_viewport_size({"width": 1440, "height": 900})
    page.wait_for_timeout(200)
    shot(page, "train-1440x900")
    page.click("#tab-draw")
    draw(page, SEVEN)
    expect_prediction(page, 7)


def test_load_a_keras_file_and_every_tab_uses_it(page):
    from playwright.sync_api import expect

    page.get_by_test_id("model-upload").set_input_files(str(FIXTURES / "keras_small.keras"))
    expect(page.locator("#model-origin")).to_contain_text("loaded from keras_small.keras")
    expect(page.get_by_test_id("neuron-15")).to_be_visible()
    assert page.get_by_test_id("neuron-16").count() == 0              # Keras's Dense(16)
    draw(page, SEVEN)
    expect(page.get_by_test_id("prediction")).not_to_have_text("?")
    page.get_by_test_id("neuron-3").click()
    expect(page.locator("#inspect-body")).to_contain_text("Hidden neuron 3")
    shot(page, "keras-model-draw")
    page.click("#tab-model")
    expect(page.locator("#params-table")).to_contain_text("12,730")
    page.click("#tab-backprop")
    page.get_by_test_id("bp-label-7").click()
    page.get_by_test_id("backprop-step").click()
    expect(page.locator("#bp-body")).to_be_visible()
    page.set_viewport_size({"width": 1440, "height": 900})
    page.click("#tab-draw")
    page.wait_for_timeout(200)
    shot(page, "keras-model-1440x900")
