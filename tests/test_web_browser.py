"""The web app end to end, in a real headless Chromium driven by Playwright.

`digitlens.web.serve` runs in a subprocess with a model trained briefly on real MNIST (two epochs,
a few seconds), exactly as `digitlens serve MODEL` runs it. The tests draw digits with mouse
strokes and the keyboard, click neurons of every hidden layer, take backprop steps, train, load
Keras files (one with two hidden layers), and save screenshots to artifacts/screenshots/ for
people to look at - every tab at a phone's, a tablet's and a desktop's width (390, 768, 1280 px).

Accessibility is checked by axe-core (npm's `axe-core`, which ./dev installs into .venv/npm):
injected into the page on every tab at the three widths, it must find no serious or critical
violation.

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
AXE = Path(os.environ.get("DIGITLENS_AXE") or REPO / ".venv" / "npm" / "node_modules" / "axe-core" / "axe.min.js")
WIDTHS = {"phone": (390, 844), "tablet": (768, 1024), "desktop": (1280, 800)}

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


def served(model_path, mnist_dir, home):
    """`serve(MODEL)` in a subprocess on a free port, as `digitlens serve MODEL` runs it, with its own
    cache and state under `home`; yields its URL, and stops it afterwards."""
    port = free_port()
    env = dict(os.environ, XDG_CACHE_HOME=str(home / "cache"), XDG_STATE_HOME=str(home / "state"),
               HOME=str(home))
    code = ("import sys; from digitlens.web import serve; "
            "serve(model_path=sys.argv[1], port=int(sys.argv[2]), data_dir=sys.argv[3])")
    process = subprocess.Popen([sys.executable, "-c", code, str(model_path), str(port), str(mnist_dir)],
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
def server(model_file, mnist_dir, tmp_path_factory):
    """`serve(MODEL)` in a subprocess on a free port; yields its URL."""
    yield from served(model_file, mnist_dir, tmp_path_factory.mktemp("home"))


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


def open_page(browser, server, width=1280, height=800, **options):
    """A fresh page of the app at this size, with its errors collected in page.errors."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda message: message.type == "error" and page.errors.append(message.text))
    page.goto(server)
    page.wait_for_selector("body[data-ready=true]")
    return page


@pytest.fixture
def page(browser, server):
    page = open_page(browser, server)
    yield page
    page.context.close()
    assert not page.errors, page.errors


@pytest.fixture
def restore(server, model_file):
    """For a test that changes the app's model: the lesson's model is loaded back afterwards."""
    yield
    with open(model_file, "rb") as f:
        import http.client
        boundary = "digitlens-test"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{model_file.name}\"\r\n"
                "Content-Type: application/octet-stream\r\n\r\n").encode() + f.read() + f"\r\n--{boundary}--\r\n".encode()
    host, port = server.split("//")[1].strip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    connection.request("POST", "/api/model/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert connection.getresponse().status == 200


def axe_violations(page, where):
    """axe-core's serious and critical violations on the page as it is now: [(rule, impact, nodes)]."""
    if not AXE.is_file():
        pytest.fail(f"axe-core is not installed at {AXE}: ./dev test installs it with npm (or set DIGITLENS_AXE)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document, { resultTypes: ['violations'] })).violations"
                           ".map((v) => [v.id, v.impact, v.nodes.slice(0, 3).map((n) => n.target.join(' ')), v.help])")
    bad = [v for v in result if v[1] in ("serious", "critical")]
    return [(where, *v) for v in bad]


def draw(page, strokes):
    """Mouse strokes on the board, given in its 336 x 336 coordinates."""
    page.get_by_test_id("draw-canvas").scroll_into_view_if_needed()
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


def api(page, path, body=None):
    """An answer of the app's API, asked from inside the page (same origin, same session)."""
    if body is None:
        return page.evaluate("async (path) => (await fetch(path)).json()", path)
    return page.evaluate("""async ([path, body]) => (await fetch(path, { method: 'POST',
        headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })).json()""", [path, body])


def boxes_overlap(a, b):
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def board_pixels(page):
    return page.eval_on_selector("[data-testid=draw-canvas]", "c => c.toDataURL()")


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
    assert page.get_by_test_id("neuron-0-255").is_visible()
    assert page.eval_on_selector("#prep-cropped", "img => img.naturalWidth > 0")
    # the words under the prediction are the API's, for the numbers shown
    answer = api(page, "/api/predict", {"pixels": page.evaluate("() => window.digitlensState.digit.pixels")})
    expect(page.get_by_test_id("prediction-note")).to_contain_text(answer["confidence"])
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
    # every neuron button announces its value
    activation = page.evaluate("() => window.digitlensState.prediction.layers[0].activation[42]")
    label = page.get_by_test_id("neuron-0-42").get_attribute("aria-label")
    assert label.startswith("neuron 42: ") and (f"{activation:.3f}" in label if activation > 0 else "silent" in label)
    with page.expect_response(lambda r: r.url.endswith("/api/neuron")) as answer:
        page.get_by_test_id("neuron-0-42").click()
    neuron = answer.value.json()
    body = page.locator("#inspect-body")
    expect(body).to_contain_text("Neuron 42 of hidden layer 1")
    expect(body).to_contain_text("relu(z)")
    expect(page.get_by_test_id("neuron-state")).to_have_text(neuron["state"])
    pixels = page.eval_on_selector("#inspect-body canvas", """c => [c.width, c.height,
        Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)]""")
    assert pixels[:2] == [28, 28]
    painted = np.array(pixels[2], dtype=np.uint8).reshape(28, 28, 4)
    assert len(np.unique(painted.reshape(-1, 4), axis=0)) > 50          # a picture of 784 weights, not a blank
    # each weight has exactly the colour digitlens.viz gives it in a report
    expected = colorize(np.array(neuron["weights"]), neuron["limits"]["weights"])
    np.testing.assert_array_equal(painted[..., :3], expected)
    # its votes: one bar per output, the prediction's label in orange
    assert page.locator("[data-testid=outgoing] .col").count() == 10
    page.locator("#inspect-body").scroll_into_view_if_needed()
    shot(page, "inspect-neuron")

    with page.expect_response(lambda r: r.url.endswith("/api/output")) as answer:
        page.get_by_test_id("output-7").click()
    output = answer.value.json()
    expect(body).to_contain_text("Output 7")
    expect(body).to_contain_text("Pushed it up")
    outlined = page.eval_on_selector_all(".neuron.push-up", "cells => cells.map((c) => Number(c.dataset.neuron))")
    assert sorted(outlined) == sorted(r["neuron"] for r in output["top_up"])
    # keyboard: into the grid, move, and Enter inspects
    page.get_by_test_id("neuron-0-0").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(body).to_contain_text("Neuron 17 of hidden layer 1")
    page.get_by_test_id("next-neuron").click()
    expect(body).to_contain_text("Neuron 18 of hidden layer 1")
    page.locator("#inspect-body").scroll_into_view_if_needed()
    shot(page, "inspect-output-keyboard")


def test_draw_with_the_keyboard_and_find_a_pixel_without_hovering(page):
    from playwright.sync_api import expect

    board = page.get_by_test_id("draw-canvas")
    board.focus()
    expect(page.locator("#pen-cursor")).to_be_visible()
    for key in ["Shift+ArrowUp", "Shift+ArrowUp", "Space"] + ["ArrowDown"] * 13 + ["Space"]:
        page.keyboard.press(key)            # the pen down at the top, a straight line down, the pen up
    expect_prediction(page, 1)
    expect(page.locator("#digit-source")).to_have_text("your drawing")
    # the flatten strip is a slider: End is the last input, the arrows step along it
    strip = page.get_by_test_id("flatten-strip")
    strip.focus()
    page.keyboard.press("End")
    expect(page.locator("#strip-info")).to_contain_text("input 783 is pixel (row 27, column 27)")
    page.keyboard.press("PageDown")
    expect(page.locator("#strip-info")).to_contain_text("input 755 is pixel (row 26, column 27)")
    assert strip.get_attribute("aria-valuenow") == "755"
    # a tap or a click pins an input; it stays when the pointer goes
    box = strip.bounding_box()
    page.mouse.click(box["x"] + box["width"] * (14 * 28 + 14.5) / 784, box["y"] + box["height"] / 2)
    page.mouse.move(0, 0)
    expect(page.locator("#strip-info")).to_contain_text("input 406 is pixel (row 14, column 14)")


@pytest.mark.parametrize("size", list(WIDTHS))
def test_every_tab_at_phone_tablet_and_desktop_widths(browser, server, size):
    """Each tab is usable at this width - nothing wider than the screen, nothing covering the tabs
    or the board - passes axe-core with no serious or critical violation, and is photographed."""
    from playwright.sync_api import expect

    width, height = WIDTHS[size]
    page = open_page(browser, server, width, height, bypass_csp=True)   # axe is injected as a script
    tag = f"{width}x{height}"
    problems = []

    def check_layout(where):
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= width, f"{where} at {tag}: the page is {wide} px wide"
        page.evaluate("() => window.scrollTo(0, 0)")          # on a phone the bar scrolls away with the page
        for tab in ("draw", "backprop", "train", "model"):       # every tab can be reached: nothing covers it
            assert page.evaluate("""(id) => { const t = document.getElementById(id); const r = t.getBoundingClientRect();
                const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
                return r.width > 0 && t.contains(hit); }""", f"tab-{tab}"), f"{where} at {tag}: tab {tab} is covered"
        problems.extend(axe_violations(page, f"{where} at {tag}"))

    draw(page, SEVEN)
    expect_prediction(page, 7)
    for card in ("#hidden-card", "#output-card", "#prep-card", "#strip-card"):   # the board overlaps nothing
        assert not boxes_overlap(page.locator("#draw-card").bounding_box(), page.locator(card).bounding_box()), card
    page.get_by_test_id("neuron-0-40").click()
    expect(page.locator("#inspect-body")).to_contain_text("Neuron 40")
    check_layout("Draw with a neuron inspected")
    shot(page, f"draw-{tag}", full_page=True)
    page.get_by_test_id("output-7").click()
    expect(page.locator("#inspect-body")).to_contain_text("Output 7")
    check_layout("Draw with an output inspected")

    page.click("#tab-backprop")
    page.get_by_test_id("backprop-step").click()
    expect(page.locator("#bp-body")).to_be_visible()
    check_layout("Backprop")
    shot(page, f"backprop-{tag}", full_page=True)

    page.click("#tab-train")
    expect(page.locator("#epoch-table tbody tr")).to_have_count(2)
    check_layout("Train")
    shot(page, f"train-{tag}", full_page=True)

    page.click("#tab-model")
    expect(page.locator(".mistake").first).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#samples .digit-btn").first).to_be_visible(timeout=WAIT_MS)
    page.get_by_test_id("cell-7-2").click()
    expect(page.get_by_test_id("cell-images")).to_be_visible()
    check_layout("Model & data")
    shot(page, f"model-{tag}", full_page=True)

    page.get_by_test_id("tour-start").click()
    for _ in range(10):                      # every tour card is on the screen, whole
        page.wait_for_function("() => !document.getElementById('tour').dataset.waiting", timeout=WAIT_MS)
        page.wait_for_function("() => document.getElementById('tour-card').getAnimations().every((a) => a.playState === 'finished')")
        card = page.locator("#tour-card").bounding_box()
        title = page.locator("#tour-title").inner_text()
        assert card["x"] >= 0 and card["y"] >= 0 and card["x"] + card["width"] <= width and card["y"] + card["height"] <= height, (title, card)
        if title == "4. Dense connections":
            problems.extend(axe_violations(page, f"the tour at {tag}"))
            shot(page, f"tour-{tag}")
        page.get_by_test_id("tour-next").click()
    assert not problems, "\n".join(map(str, problems))
    assert not page.errors, page.errors
    page.context.close()


def test_a_model_with_two_hidden_layers_through_every_panel(page, restore):
    """Keras's Dense(16, tanh) -> Dense(8, sigmoid) -> Dense(10): both hidden layers are drawn, and
    every panel refers to the right one."""
    from playwright.sync_api import expect

    page.get_by_test_id("model-upload").set_input_files(str(FIXTURES / "keras_small_tanh.keras"))
    expect(page.locator("#model-origin")).to_contain_text("loaded from keras_small_tanh.keras")
    expect(page.locator(".neuron-grid[data-layer='0'] .neuron")).to_have_count(16)
    expect(page.locator(".neuron-grid[data-layer='1'] .neuron")).to_have_count(8)
    expect(page.locator("#hidden-title")).to_contain_text("2 hidden layers: 16 tanh \u2192 8 sigmoid")
    draw(page, SEVEN)
    wait_until_answered(page)
    expect(page.get_by_test_id("prediction")).not_to_have_text("?")
    # an output: its pushes come from the LAST hidden layer, outlined on THAT layer's grid
    with page.expect_response(lambda r: r.url.endswith("/api/output")) as answer:
        page.get_by_test_id("output-4").click()
    output = answer.value.json()
    assert output["from_layer"] == 1
    marked = lambda layer, kind: sorted(page.eval_on_selector_all(  # noqa: E731
        f".neuron-grid[data-layer='{layer}'] .neuron.{kind}", "cells => cells.map((c) => Number(c.dataset.neuron))"))
    assert marked(1, "push-up") == sorted(r["neuron"] for r in output["top_up"])
    assert marked(1, "push-down") == sorted(r["neuron"] for r in output["top_down"])
    assert marked(0, "push-up") == marked(0, "push-down") == []
    expect(page.locator("#inspect-body")).to_contain_text("over the 8 neurons of hidden layer 2")
    # a listed neuron opens THAT neuron of the second hidden layer
    first = (output["top_up"] or output["top_down"])[0]["neuron"]
    with page.expect_response(lambda r: r.url.endswith("/api/neuron")) as answer:
        page.locator("#inspect-body .push-list button").first.click()
    neuron = answer.value.json()
    assert (neuron["layer_index"], neuron["neuron"]) == (1, first)
    body = page.locator("#inspect-body")
    expect(body).to_contain_text(f"Neuron {first} of hidden layer 2")
    expect(body).to_contain_text("What drove it: the neurons of hidden layer 1")
    expect(page.get_by_test_id("pixels-explained")).to_contain_text("tangent")      # through tanh: a tangent
    expect(page.get_by_test_id("neuron-state")).to_contain_text("sigmoid")
    assert page.locator("[data-testid=outgoing] .col").count() == 10                  # its weights to the outputs
    assert marked(1, "selected") == [first]
    assert marked(0, "push-up") == sorted(r["neuron"] for r in neuron["incoming"]["top_up"])
    shot(page, "two-hidden-layers-neuron", full_page=True)
    for width, height in (WIDTHS["phone"], WIDTHS["tablet"]):     # both layers and the panel fit a phone too
        page.set_viewport_size({"width": width, "height": height})
        next_frames(page)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width
        shot(page, f"two-hidden-layers-neuron-{width}x{height}", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    # from there, down to a first-layer neuron: it pushes into the 8 sigmoid neurons, not the outputs
    below = neuron["incoming"]["top_up"][0]["neuron"] if neuron["incoming"]["top_up"] else neuron["incoming"]["top_down"][0]["neuron"]
    page.locator("#inspect-body .push-list").first.locator("button").first.click()
    expect(body).to_contain_text(f"Neuron {below} of hidden layer 1")
    expect(page.get_by_test_id("outgoing")).to_contain_text("its weights to the 8 neurons of hidden layer 2")
    # a tanh neuron below zero is not "silent": the words follow the activation
    tanh = page.evaluate("() => window.digitlensState.prediction.layers[0].activation")
    negative = int(np.argmin(tanh))
    assert tanh[negative] < 0
    page.get_by_test_id(f"neuron-0-{negative}").click()
    expect(page.get_by_test_id("neuron-state")).to_contain_text("negative")
    assert "silent" not in page.get_by_test_id("neuron-state").inner_text()
    # backprop: several steps, every layer's changes
    page.click("#tab-backprop")
    page.get_by_test_id("bp-label-2").click()
    losses = []
    for _ in range(3):
        with page.expect_response(lambda r: r.url.endswith("/api/backprop")) as answer:
            page.get_by_test_id("backprop-step").click()
        losses.append(answer.value.json()["loss_after"])
        expect(page.get_by_test_id("backprop-step")).to_be_enabled()
    assert losses == sorted(losses, reverse=True) and losses[0] > losses[-1]
    expect(page.get_by_test_id("backprop-step")).to_have_text("Take another step (step 4)")
    expect(page.locator("#bp-layer-deltas canvas")).to_have_count(2)
    expect(page.locator("#bp-layer-deltas")).to_contain_text("hidden layer 2 (dense_1, 8 sigmoid): weight changes")
    shot(page, "two-hidden-layers-backprop", full_page=True)
    page.click("#tab-model")
    expect(page.locator("#params-table")).to_contain_text("12,786")


def test_backprop_follows_the_digit_until_an_answer_is_picked(page):
    from playwright.sync_api import expect

    draw(page, SEVEN)
    expect_prediction(page, 7)
    page.click("#tab-backprop")
    expect(page.get_by_test_id("bp-label-7")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#bp-label-note")).to_contain_text("what the network reads")
    page.click("#tab-draw")
    page.get_by_test_id("clear").click()
    draw(page, ONE)
    expect_prediction(page, 1)
    page.click("#tab-backprop")
    expect(page.get_by_test_id("bp-label-1")).to_have_attribute("aria-pressed", "true")
    # an MNIST digit: its label, even where the network reads something else
    page.click("#tab-model")
    mistake = page.locator(".mistake").first
    expect(mistake).to_be_visible(timeout=WAIT_MS)
    label, read_as = re.findall(r"(\d) read as (\d)", mistake.inner_text())[0]
    mistake.click()
    expect_prediction(page, read_as)
    page.click("#tab-backprop")
    expect(page.get_by_test_id(f"bp-label-{label}")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#bp-label-note")).to_contain_text("this digit's label")
    # the learner picks: it stays picked while the digit is drawn on, and steps continue the run
    page.click("#tab-draw")
    page.get_by_test_id("clear").click()
    draw(page, SEVEN)
    expect_prediction(page, 7)
    page.click("#tab-backprop")
    expect(page.get_by_test_id("bp-label-7")).to_have_attribute("aria-pressed", "true")
    page.get_by_test_id("bp-label-3").click()
    expect(page.locator("#bp-label-note")).to_have_text("you picked 3")
    page.click("#tab-draw")
    draw(page, [[(120, 180), (220, 180)]])             # a cross-bar: the same digit, drawn on
    wait_until_answered(page)
    page.click("#tab-backprop")
    expect(page.get_by_test_id("bp-label-3")).to_have_attribute("aria-pressed", "true")
    page.select_option("#bp-optimizer", "sgd")
    page.fill("#bp-rate", "0.05")
    seen = []
    for n in range(1, 4):
        with page.expect_response(lambda r: r.url.endswith("/api/backprop")) as answer:
            page.get_by_test_id("backprop-step").click()
        step = answer.value.json()
        assert step["steps"] == n and step["label"] == 3
        seen.append(step["loss_after"])
        expect(page.get_by_test_id("bp-loss")).to_contain_text(f"\u2192 {step['loss_after']:.4f}")
    assert seen == sorted(seen, reverse=True)
    expect(page.locator("#bp-losses")).to_be_visible()
    shot(page, "backprop-steps")
    page.get_by_test_id("backprop-again").click()
    expect(page.get_by_test_id("backprop-step")).to_have_text("Take one training step")


def test_prepared_thumbnails_show_the_whole_crop_and_mnist_digits_say_why_they_have_none(page, tmp_path):
    from PIL import Image, ImageDraw

    from playwright.sync_api import expect

    wide = Image.new("RGB", (600, 300), "white")          # a seven drawn very wide: a crop wider than tall
    ImageDraw.Draw(wide).line([(60, 60), (540, 60), (300, 260)], fill="black", width=26)
    wide.save(tmp_path / "wide-seven.png")
    page.get_by_test_id("image-upload").set_input_files(str(tmp_path / "wide-seven.png"))
    wait_until_answered(page)
    expect(page.locator("#digit-source")).to_have_text("wide-seven.png")
    for img in ("#prep-cropped", "#prep-scaled"):
        page.wait_for_function("(id) => { const i = document.querySelector(id); return i.complete && i.naturalWidth && i.style.width; }", arg=img)
        shown = page.locator(img).bounding_box()
        box = page.locator(img).locator("xpath=..").bounding_box()
        natural = page.eval_on_selector(img, "i => [i.naturalWidth, i.naturalHeight]")
        assert shown["x"] >= box["x"] - 0.5 and shown["x"] + shown["width"] <= box["x"] + box["width"] + 0.5, img
        assert shown["y"] >= box["y"] - 0.5 and shown["y"] + shown["height"] <= box["y"] + box["height"] + 0.5, img
        assert shown["width"] / shown["height"] == pytest.approx(natural[0] / natural[1], rel=0.03), img  # not squashed, not cut
        assert max(shown["width"], shown["height"]) == pytest.approx(box["width"], abs=1)                  # and it fills the box
    expect(page.get_by_test_id("prep-note")).to_be_hidden()
    page.locator("#prep-card").screenshot(path=str(SHOTS / "prepared-wide.png"))
    page.get_by_test_id("sample-digit").click()
    expect(page.locator("#digit-source")).to_contain_text("MNIST test image #")
    expect(page.get_by_test_id("prep-note")).to_contain_text("already prepared")
    expect(page.locator("#prep-crop-figure")).to_be_hidden()


def test_a_failed_upload_leaves_everything_as_it_was_and_names_the_file(page, tmp_path):
    from playwright.sync_api import expect

    draw(page, SEVEN)
    expect_prediction(page, 7)
    before = board_pixels(page), page.locator("#prediction-note").inner_text(), page.locator("#digit-source").inner_text()
    (tmp_path / "holiday notes.png").write_bytes(b"these are not the pixels of a picture")
    page.get_by_test_id("image-upload").set_input_files(str(tmp_path / "holiday notes.png"))
    expect(page.locator("#toast")).to_contain_text("holiday notes.png")
    page.errors[:] = [e for e in page.errors if "status of 422" not in e]     # the refusal itself, as expected
    assert "image bytes" not in page.locator("#toast").inner_text()
    after = board_pixels(page), page.locator("#prediction-note").inner_text(), page.locator("#digit-source").inner_text()
    assert after == before
    expect(page.get_by_test_id("prediction")).to_have_text("7")


def test_a_doubt_about_the_picture_is_shown_next_to_the_prediction(page):
    """Another part of digitlens adds "doubt" (a sentence, or null) to /api/predict when a picture
    does not look like one digit; the page shows it when present."""
    from playwright.sync_api import expect

    doubt = "this does not look like one digit: the ink touches every edge"

    def with_doubt(route):
        response = route.fetch()
        route.fulfill(response=response, json={**response.json(), "doubt": doubt})

    page.route("**/api/predict", with_doubt)
    draw(page, SEVEN)
    wait_until_answered(page)
    expect(page.get_by_test_id("doubt")).to_have_text(doubt)
    page.unroute("**/api/predict")
    page.get_by_test_id("clear").click()
    draw(page, ONE)
    expect_prediction(page, 1)
    expect(page.get_by_test_id("doubt")).to_be_hidden()


def test_model_and_data_then_load_a_mistake_into_draw(page):
    from playwright.sync_api import expect

    page.click("#tab-model")
    expect(page.locator("#params-table")).to_contain_text("203,530")
    expect(page.locator("#params-table")).to_contain_text("784 inputs x 256 units = 200,704 weights")
    expect(page.locator("#confusion td").first).to_be_visible()
    expect(page.locator(".mistake").first).to_be_visible(timeout=10000)
    # a cell of the confusion matrix shows its images
    evaluation = api(page, "/api/evaluation")
    confusion = np.array(evaluation["confusion"])
    label, read_as = np.unravel_index(np.argmax(confusion * (1 - np.eye(10, dtype=int))), confusion.shape)
    page.get_by_test_id(f"cell-{label}-{read_as}").click()
    cell = page.get_by_test_id("cell-images")
    expect(cell).to_contain_text(f"of {label} read as {read_as}")
    expect(cell.locator(".mistake")).to_have_count(min(48, int(confusion[label, read_as])))
    shot(page, "model-and-data", full_page=True)
    cell.locator(".mistake").first.click()
    expect(page.locator("#panel-draw")).to_be_visible()
    expect_prediction(page, read_as)
    expect(page.locator("#digit-source")).to_contain_text(f"labelled {label}")
    page.click("#tab-model")
    mistake = page.locator(".mistake").first
    label, read_as = re.findall(r"(\d) read as (\d)", mistake.inner_text())[0]
    mistake.click()
    expect(page.locator("#panel-draw")).to_be_visible()
    expect_prediction(page, read_as)
    expect(page.locator("#digit-source")).to_contain_text(f"labelled {label}")


def test_guided_tour_walks_through_the_lesson_and_waits_for_the_samples(page):
    from playwright.sync_api import expect

    def slowly(route):                      # the samples arrive late, as on a busy machine
        time.sleep(1.5)
        route.continue_()

    page.route("**/api/data", slowly)
    page.get_by_test_id("tour-start").click()
    expect_prediction(page, 7)                  # the tour starts with a digit (MNIST test image #0) to look at
    titles = []
    for _ in range(10):
        title = page.locator("#tour-title").inner_text()
        titles.append(title)
        if title == "1. The data":             # its spotlight is on the card once the samples are in it
            page.wait_for_function("() => !document.getElementById('tour').dataset.waiting", timeout=WAIT_MS)
            page.wait_for_function("() => document.getElementById('tour-spot').getAnimations().every((a) => a.playState === 'finished')")
            assert page.locator("#samples .digit-btn").count() == 120
            spot, card = page.locator("#tour-spot").bounding_box(), page.locator("#data-card").bounding_box()
            assert spot["height"] == pytest.approx(card["height"] + 12, abs=2), (spot, card)
            assert spot["y"] == pytest.approx(card["y"] - 6, abs=2)
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


def test_train_for_one_epoch_watch_the_curve_grow_then_keep_it(page, restore):
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
    expect(page.get_by_test_id("train-status")).to_contain_text("Done", timeout=TRAINING_MS)
    counts = page.evaluate("window.curveCounts")
    growing = [c for c in counts if 0 < c < 1875]
    assert len(set(growing)) >= 3 and growing == sorted(growing), counts   # it grew while training ran
    assert int(curve.get_attribute("data-points")) == 1875                  # 60,000 / 32 batches
    assert page.locator("#epoch-table tbody tr").count() == 1
    assert "partial" not in page.locator("#epoch-table tbody tr").inner_text()
    expect(page.locator("#weights-note")).to_contain_text(re.compile(r"After [\d,]+ steps"))
    words = page.evaluate("""async () => { const { plural } = await import('/static/js/state.js');
        return [plural(1, 'step'), plural(2, 'step'), plural(1875, 'step'), plural(1, 'batch', 'batches')]; }""")
    assert words == ["1 step", "2 steps", "1,875 steps", "1 batch"]          # "After 1 step", not "1 steps"
    expect(page.locator("#model-origin")).to_contain_text("trained here")
    expect(page.get_by_test_id("train-keep")).to_be_visible()
    shot(page, "train-1280x800")
    page.get_by_test_id("train-keep").click()
    expect(page.get_by_test_id("train-keep")).to_be_hidden()
    assert api(page, "/api/status")["training"]["undo"] is False
    page.set_viewport_size({"width": 1440, "height": 900})
    next_frames(page)
    shot(page, "train-1440x900")
    page.click("#tab-draw")
    draw(page, SEVEN)
    expect_prediction(page, 7)


def test_pause_stop_mid_epoch_and_undo_then_a_fresh_page_does_not_replay_it(browser, server, page, restore):
    """Paused shows, and paused time is not epoch time; a stop mid-epoch is a partial row; undo goes
    back to the model before; a page opened afterwards does not replay the undone job."""
    from playwright.sync_api import expect

    before = api(page, "/api/status")["model"]
    page.click("#tab-train")
    page.locator("[data-testid=layer-units]").first.fill("32")
    page.fill("#t-epochs", "3")
    page.fill("#t-batch", "10")
    page.fill("#t-samples", "6000")
    page.get_by_test_id("train-start").click()
    expect(page.get_by_test_id("train-status")).to_contain_text("step", timeout=WAIT_MS)
    page.get_by_test_id("train-pause").click()
    expect(page.get_by_test_id("train-status")).to_contain_text("Paused at", timeout=WAIT_MS)
    expect(page.locator("#train-progress")).to_have_class(re.compile("paused"))
    expect(page.get_by_test_id("train-pause")).to_have_text("Resume")
    shot(page, "train-paused")
    page.get_by_test_id("train-stop").click()               # a stop while paused lands mid-epoch
    expect(page.get_by_test_id("train-status")).to_contain_text("Stopped after", timeout=TRAINING_MS)
    last = page.locator("#epoch-table tbody tr").last
    expect(last).to_contain_text("partial")
    expect(last).to_contain_text("of 600 steps")
    expect(page.get_by_test_id("train-undo")).to_be_visible()
    shot(page, "train-stopped-partial")
    page.get_by_test_id("train-undo").click()
    expect(page.get_by_test_id("train-status")).to_contain_text("Undone")
    expect(page.locator("#model-origin")).to_have_text(before["origin"])
    assert api(page, "/api/status")["model"]["params"] == before["params"]
    fresh = open_page(browser, server)
    fresh.click("#tab-train")
    expect(fresh.locator("#epoch-table tbody tr")).to_have_count(2)            # the model's own history again
    assert fresh.get_by_test_id("train-curve").get_attribute("data-source") == "history"
    assert not fresh.errors, fresh.errors
    fresh.context.close()


def test_train_a_network_with_two_hidden_layers_in_the_page(page, restore):
    from playwright.sync_api import expect

    page.click("#tab-train")
    page.get_by_test_id("add-layer").click()
    page.locator("[data-testid=layer-units]").nth(0).fill("48")
    page.locator("[data-testid=layer-units]").nth(1).fill("24")
    page.locator("[data-testid=layer-activation]").nth(1).select_option("tanh")
    page.fill("#t-samples", "2000")
    page.get_by_test_id("train-start").click()
    expect(page.get_by_test_id("train-status")).to_contain_text("Done", timeout=TRAINING_MS)
    expect(page.locator("#model-name")).to_have_text("Dense 48 relu \u2192 24 tanh \u2192 10 softmax")
    page.click("#tab-draw")
    expect(page.locator(".neuron-grid[data-layer='1'] .neuron")).to_have_count(24)
    draw(page, SEVEN)
    wait_until_answered(page)
    page.get_by_test_id("neuron-1-5").click()
    expect(page.locator("#inspect-body")).to_contain_text("Neuron 5 of hidden layer 2")
    expect(page.get_by_test_id("pixels-explained")).to_contain_text("exact")       # relu below: exact


def test_load_a_keras_file_and_every_tab_uses_it(page, restore):
    from playwright.sync_api import expect

    page.get_by_test_id("model-upload").set_input_files(str(FIXTURES / "keras_small.keras"))
    expect(page.locator("#model-origin")).to_contain_text("loaded from keras_small.keras")
    expect(page.get_by_test_id("neuron-0-15")).to_be_visible()
    assert page.get_by_test_id("neuron-0-16").count() == 0              # Keras's Dense(16)
    draw(page, SEVEN)
    wait_until_answered(page)
    expect(page.get_by_test_id("prediction")).not_to_have_text("?")
    page.get_by_test_id("neuron-0-3").click()
    expect(page.locator("#inspect-body")).to_contain_text("Neuron 3 of hidden layer 1")
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


def test_a_training_run_that_diverges_is_marked_and_breaks_nothing(page, restore):
    """A learning rate of 10 with plain SGD and a linear layer overflows: the loss is NaN, which the
    API sends as null. The page marks where it diverged, shows dashes and gaps, and every tab goes
    on working."""
    from playwright.sync_api import expect

    page.click("#tab-train")
    page.locator("[data-testid=layer-units]").first.fill("64")
    page.locator("[data-testid=layer-activation]").first.select_option("linear")
    page.select_option("#t-optimizer", "sgd")
    page.fill("#t-rate", "10")
    page.fill("#t-samples", "1000")
    page.fill("#t-epochs", "1")
    page.get_by_test_id("train-start").click()
    expect(page.get_by_test_id("train-status")).to_contain_text("Done", timeout=TRAINING_MS)
    expect(page.get_by_test_id("train-status")).to_contain_text("(loss \u2013)")
    expect(page.get_by_test_id("train-status")).to_contain_text("diverged at step")
    curve = page.get_by_test_id("train-curve")
    assert curve.get_attribute("data-points") == "32"      # 1,000 / 32 batches
    diverged = int(curve.get_attribute("data-diverged"))
    assert 1 <= diverged <= 32 and api(page, "/api/train")["result"]["diverged_at"] == diverged
    assert page.locator("#epoch-table tbody tr td").nth(0).inner_text() == "\u2013"     # its loss: not a number
    shot(page, "train-diverged")
    page.get_by_test_id("train-undo").click()                   # a bad run is undone
    expect(page.locator("#model-name")).to_have_text("Dense 256 relu \u2192 10 softmax")
    page.click("#tab-draw")
    draw(page, SEVEN)
    expect_prediction(page, 7)


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
    page.get_by_test_id("output-7").click()
    expect(page.locator("#inspect-body")).to_contain_text(f"Output {MARKUP_NAMES[7]}")
    page.get_by_test_id("neuron-0-3").click()
    expect(page.locator("#inspect-body")).to_contain_text("Neuron 3")
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
    page.get_by_test_id("cell-7-2").click()
    expect(page.get_by_test_id("cell-images")).to_be_visible()
    nothing_injected("Model & data")
