"""The web app end to end, in a real headless Chromium driven by Playwright.

`digitlens.web.serve` runs in a subprocess with a model trained briefly on real MNIST (two epochs,
a few seconds), exactly as `digitlens serve MODEL` runs it. The tests draw digits with mouse
strokes, click neurons, take a backprop step, train for an epoch and load a Keras file, and save
screenshots to artifacts/screenshots/ for people to look at.

No test judges speed (the machines are shared and noisy); how often the page updates while drawing
is written to artifacts/web-timings.json for the notes. Tests wait for what the page shows or
signals - the board's data-predicting, the train curve's data-points - never for a fixed time.

Chromium is Debian's (`apt-get install chromium`), at /usr/bin/chromium or $DIGITLENS_CHROMIUM.
"""

import datetime
import json
import math
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES, REPO

pytestmark = pytest.mark.browser

SHOTS = REPO / "artifacts" / "screenshots"
TIMINGS = REPO / "artifacts" / "web-timings.json"
WAIT_MS = 30_000             # for an answer the page shows; generous, the machine may be busy
TRAINING_MS = 600_000        # for a training job to end
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
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(url + "api/status", timeout=1).read()
            break
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                process.kill()
                pytest.fail(f"the server did not answer within 120 s:\n{process.stdout.read()}")
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


def draw(page, strokes):
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
        page.mouse.up()


def wait_until_answered(page):
    """Until the board's last prediction has come back and is shown (draw.js's data-predicting)."""
    page.wait_for_selector('[data-testid=draw-canvas][data-predicting="false"]', state="attached", timeout=WAIT_MS)


def expect_prediction(page, digit):
    from playwright.sync_api import expect

    expect(page.get_by_test_id("prediction")).to_have_text(str(digit), timeout=WAIT_MS)
    wait_until_answered(page)      # an earlier answer may have matched: check the last one too
    expect(page.get_by_test_id("prediction")).to_have_text(str(digit))


def next_frames(page):
    """Until the page has drawn twice more (after a resize, say)."""
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def record_timings(name, values):
    """Keep measured rates and times in artifacts/web-timings.json, for people to report; never judged."""
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    try:
        record = json.loads(TIMINGS.read_text())
    except (OSError, ValueError):
        record = {}
    record[name] = {**values, "measured": datetime.datetime.now().isoformat(timespec="seconds")}
    TIMINGS.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


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


def test_the_network_updates_while_drawing_not_only_when_the_pen_lifts(page):
    """In one stroke, several predictions come back and are shown before the mouse button is
    released. The page's own clock times the stroke and each answer; the rate goes to the notes."""
    page.evaluate("""() => {
        performance.clearResourceTimings();
        performance.setResourceTimingBufferSize(10000);
        const stroke = window.stroke = { shown: [] };
        const board = document.querySelector('[data-testid=draw-canvas]');
        board.addEventListener('pointerdown', () => { stroke.down = performance.now(); }, true);
        window.addEventListener('pointerup', () => { stroke.up = performance.now(); }, true);
        // each answer redraws the note under the prediction: one mutation per update shown
        new MutationObserver(() => { if (stroke.up === undefined) stroke.shown.push(performance.now()); })
            .observe(document.getElementById('prediction-note'), { childList: true });
    }""")
    box = page.get_by_test_id("draw-canvas").bounding_box()
    scale = box["width"] / 336
    path = [(60 + 220 * abs(((t / 24) % 2) - 1), 150 + t) for t in range(48)]   # zigzag, about 2 s with pauses
    page.mouse.move(box["x"] + path[0][0] * scale, box["y"] + path[0][1] * scale)
    page.mouse.down()
    deadline = time.monotonic() + WAIT_MS / 1000
    step = 0
    while step < len(path) or (page.evaluate("window.stroke.shown.length") < 3 and time.monotonic() < deadline):
        x, y = path[step % len(path)]          # keep drawing while the answers are slow to come
        page.mouse.move(box["x"] + x * scale, box["y"] + y * scale)
        page.wait_for_timeout(40)               # a hand's pace; the page sends at most every 50 ms
        step += 1
    page.mouse.up()
    stroke = page.evaluate("""() => {
        const s = window.stroke;
        const answers = performance.getEntriesByType('resource')
            .filter((e) => e.name.endsWith('/api/predict') && e.startTime >= s.down && e.responseEnd <= s.up);
        return { down: s.down, up: s.up, shown: s.shown.length, trips: answers.map((e) => e.responseEnd - e.startTime) };
    }""")
    assert stroke["shown"] >= 3, f"only {stroke['shown']} predictions were shown during the stroke: {stroke}"
    assert len(stroke["trips"]) >= stroke["shown"]
    wait_until_answered(page)
    seconds = (stroke["up"] - stroke["down"]) / 1000
    record_timings("draw_updates", {
        "what": "predictions shown while the mouse draws one stroke (headless Chromium, page's clock)",
        "updates_per_second": round(stroke["shown"] / seconds, 2), "updates": stroke["shown"],
        "stroke_seconds": round(seconds, 2), "round_trip_median_ms": round(statistics.median(stroke["trips"]), 2)})


def test_inspect_a_neuron_and_an_output(page):
    from playwright.sync_api import expect

    from digitlens.viz.style import colorize

    draw(page, SEVEN)
    expect_prediction(page, 7)
    with page.expect_response(lambda r: r.url.endswith("/api/neuron")) as answer:
        page.get_by_test_id("neuron-42").click()
    neuron = answer.value.json()
    body = page.locator("#inspect-body")
    expect(body).to_contain_text("Hidden neuron 42")
    expect(body).to_contain_text("relu(z)")
    pixels = page.eval_on_selector("#inspect-body canvas", """c => [c.width, c.height,
        Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)]""")
    assert pixels[:2] == [28, 28]
    painted = np.array(pixels[2], dtype=np.uint8).reshape(28, 28, 4)
    assert len(np.unique(painted.reshape(-1, 4), axis=0)) > 50          # a picture of 784 weights, not a blank
    # each weight has exactly the colour digitlens.viz gives it in a report
    expected = colorize(np.array(neuron["weights"]), neuron["limits"]["weights"])
    np.testing.assert_array_equal(painted[..., :3], expected)
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
    expect(page.locator("#params-table")).to_contain_text("784 inputs x 256 units = 200,704 weights")
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
        if "Dense connections" in title:        # the spotlight glides to its target: let it arrive
            page.wait_for_function("() => document.getElementById('tour-spot').getAnimations()"
                                   ".every((a) => a.playState === 'finished')", timeout=WAIT_MS)
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
    curve = page.get_by_test_id("train-curve")
    assert curve.get_attribute("data-source") == "history"
    # every time the page redraws the curve during the job, note how many points it has
    page.evaluate("""() => {
        window.curveCounts = [];
        const curve = document.querySelector('[data-testid=train-curve]');
        new MutationObserver(() => { if (curve.dataset.source === 'job') window.curveCounts.push(Number(curve.dataset.points)); })
            .observe(curve, { attributes: true, attributeFilter: ['data-points'] });
    }""")
    page.fill("#t-epochs", "1")            # the lesson's settings otherwise: 60,000 images, batches of 32
    page.get_by_test_id("train-start").click()
    expect(page.locator("#train-status")).to_contain_text("Done", timeout=TRAINING_MS)
    counts = page.evaluate("window.curveCounts")
    growing = [c for c in counts if 0 < c < 1875]
    assert len(set(growing)) >= 3 and growing == sorted(growing), counts   # it grew while training ran
    assert int(curve.get_attribute("data-points")) == 1875                  # 60,000 / 32 batches
    assert page.locator("#epoch-table tbody tr").count() == 1
    expect(page.locator("#model-origin")).to_contain_text("trained here")
    shot(page, "train-1280x800")
    page.set_viewport_size({"width": 1440, "height": 900})
    next_frames(page)
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
    wait_until_answered(page)
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
    next_frames(page)
    shot(page, "keras-model-1440x900")


def test_a_training_run_that_diverges_is_shown_and_breaks_nothing(page, model_file):
    """A learning rate of 10 with plain SGD and a linear layer overflows: the loss is NaN, which the
    API sends as null. The page shows dashes and gaps, and every tab goes on working."""
    from playwright.sync_api import expect

    page.click("#tab-train")
    page.fill("#t-units", "64")
    page.select_option("#t-activation", "linear")
    page.select_option("#t-optimizer", "sgd")
    page.fill("#t-rate", "10")
    page.fill("#t-samples", "1000")
    page.fill("#t-epochs", "1")
    page.get_by_test_id("train-start").click()
    expect(page.locator("#train-status")).to_contain_text("Done", timeout=TRAINING_MS)
    expect(page.locator("#train-status")).to_contain_text("(loss \u2013)")
    assert page.get_by_test_id("train-curve").get_attribute("data-points") == "32"      # 1,000 / 32 batches
    assert page.locator("#epoch-table tbody tr td").nth(1).inner_text() == "\u2013"     # its loss: not a number
    shot(page, "train-diverged")
    page.click("#tab-draw")
    draw(page, SEVEN)
    wait_until_answered(page)
    page.click("#tab-model")
    expect(page.locator("#eval-top .stat").first).to_be_visible(timeout=WAIT_MS)
    # back to the lesson's model for whatever runs next
    page.get_by_test_id("model-upload").set_input_files(str(model_file))
    expect(page.locator("#model-origin")).to_contain_text(f"loaded from {model_file.name}", timeout=WAIT_MS)


MARKUP_NAMES = [f'<img data-injected="{k}" src="x.png">{k}' for k in range(10)]


def test_class_names_are_shown_as_text_never_as_markup(page):
    """A model file can name its classes anything. Every API answer is given such names on the way
    to the page, which must write them as text: no element of theirs may appear."""
    from playwright.sync_api import expect

    def rename(value):
        if isinstance(value, dict):
            return {key: (MARKUP_NAMES[:len(item)] if key == "class_names" else rename(item)) for key, item in value.items()}
        return [rename(item) for item in value] if isinstance(value, list) else value

    def with_markup_names(route):
        response = route.fetch()
        if "application/json" not in response.headers.get("content-type", ""):
            return route.fulfill(response=response)
        route.fulfill(response=response, json=rename(response.json()))

    page.route(lambda url: "/api/" in url and not url.endswith(("/events", "/colormap")), with_markup_names)
    page.reload()
    page.wait_for_selector("body[data-ready=true]")

    def nothing_injected(where):
        assert page.locator("[data-injected]").count() == 0, f"a class name became an element ({where})"

    draw(page, SEVEN)
    wait_until_answered(page)
    expect(page.get_by_test_id("prediction")).to_have_text(MARKUP_NAMES[7])
    expect(page.locator("#prediction-note")).to_contain_text(f"sure it is {MARKUP_NAMES[7]}")
    page.get_by_test_id("output-7").click()
    expect(page.locator("#inspect-body")).to_contain_text(f"Output {MARKUP_NAMES[7]}")
    nothing_injected("Draw")
    page.click("#tab-backprop")
    expect(page.locator("#bp-digit-note")).to_contain_text(MARKUP_NAMES[7])
    page.get_by_test_id("bp-label-3").click()
    page.get_by_test_id("backprop-step").click()
    expect(page.locator("#bp-body")).to_be_visible(timeout=WAIT_MS)
    nothing_injected("Backprop")
    page.click("#tab-model")
    expect(page.locator(".mistake").first).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(".mistake").first).to_contain_text("read as <img")
    nothing_injected("Model & data")
