"""The notebook widgets in a real JupyterLab, driven by Playwright in Debian's Chromium.

JupyterLab (from PyPI, as `./dev test` installs it) is started once for this module on a free
port, with its own settings folders, on a copy of examples/lesson.ipynb. The tests run the whole
notebook from the Run menu, watch LiveTraining's curves move and stop it with its Stop button,
draw a 1, a 0 and a 7 on the drawing pad with the mouse and read the predictions, check that the
kernel's `pad.pixels` is what was drawn (the board read back from the browser, prepared by
datasets.images in this process), and save screenshots to artifacts/screenshots/notebook-*.png.

No test judges speed: how many drawing updates a second came back (the round trip through the
kernel) is written to artifacts/notebook-timings.json, not asserted.
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
from conftest import REPO

pytestmark = [pytest.mark.browser, pytest.mark.notebook]

SHOTS = REPO / "artifacts" / "screenshots"
TIMINGS = REPO / "artifacts" / "notebook-timings.json"
LESSON = REPO / "examples" / "lesson.ipynb"
WAIT_MS = 60_000
RUN_ALL_MS = 900_000          # the whole lesson: training, pictures of every section
CHROMIUM = os.environ.get("DIGITLENS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TOKEN = "digitlens-test"

# Strokes on the pad's 280 x 280 board, as a hand would draw them (the web tests' strokes, scaled).
S = 280 / 336
SEVEN = [[(75 * S, 70 * S), (255 * S, 70 * S), (190 * S, 170 * S), (150 * S, 285 * S)]]
ONE = [[(160 * S, 50 * S), (172 * S, 160 * S), (176 * S, 290 * S)]]
ZERO = [[((168 + 70 * math.sin(t / 24 * 2 * math.pi)) * S, (168 - 115 * math.cos(t / 24 * 2 * math.pi)) * S)
         for t in range(26)]]
timings = {}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, mnist_dir):
    """JupyterLab on a copy of the lesson; yields the notebook's URL."""
    root = tmp_path_factory.mktemp("lab")
    (root / "work").mkdir()
    shutil.copy(LESSON, root / "work" / "lesson.ipynb")
    port = free_port()
    env = dict(os.environ, DIGITLENS_DATA=str(mnist_dir), HOME=str(root / "home"),
               JUPYTER_CONFIG_DIR=str(root / "config"), JUPYTER_RUNTIME_DIR=str(root / "runtime"),
               IPYTHONDIR=str(root / "ipython"), XDG_CACHE_HOME=str(root / "cache"))
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
               "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}",
               f"--ServerApp.root_dir={root / 'work'}", "--LabApp.extension_manager=readonly",
               "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    log = open(root / "lab.log", "w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=1).read()
            break
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                process.kill()
                pytest.fail(f"JupyterLab did not answer within 120 s:\n{(root / 'lab.log').read_text()}")
            time.sleep(0.2)
    yield f"{base}/lab/tree/lesson.ipynb?token={TOKEN}"
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="module")
def page(lab):
    from playwright import sync_api as playwright_api
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (or set DIGITLENS_CHROMIUM)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(lab)
        page.wait_for_selector(".jp-Notebook", timeout=WAIT_MS)
        wait_idle(page)
        news = page.locator(".jp-toast-button", has_text="No")      # "notified about Jupyter news?"
        if news.count():
            news.first.click()
        # more room: fold the file browser away (a click on its open tab)
        page.locator(".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").first.click()
        yield page
        browser.close()


def wait_idle(page, timeout=WAIT_MS):
    """The kernel is idle and no cell waits to run ([*] prompts)."""
    page.wait_for_function("""() => document.body.innerText.includes('| Idle')
        && ![...document.querySelectorAll('.jp-InputPrompt')].some((p) => p.innerText.includes('*'))""",
                           timeout=timeout)


def shot(page, name, element=None):
    path = SHOTS / f"notebook-{name}.png"
    (element or page).screenshot(path=str(path))
    return path


def run_code(page, code):
    """Add a cell at the end of the notebook, run `code` in it and return its output text."""
    cells = page.locator(".jp-Notebook .jp-Cell")
    count = cells.count()
    cells.last.locator(".jp-InputPrompt").click()
    page.keyboard.press("Escape")
    page.keyboard.press("b")
    page.wait_for_function(f"() => document.querySelectorAll('.jp-Notebook .jp-Cell').length > {count}")
    page.keyboard.press("Enter")
    page.keyboard.insert_text(code)
    page.keyboard.press("Shift+Enter")
    cell = page.locator(".jp-Notebook .jp-Cell").nth(count)
    cell.locator(".jp-OutputArea-output").first.wait_for(timeout=WAIT_MS)
    wait_idle(page)
    return cell.locator(".jp-OutputArea").inner_text()


def draw(page, pad, strokes):
    """Draw with the mouse on the pad's board, as fast as Playwright moves it; returns (seconds
    from the pen going down to the last answer, drawing updates answered meanwhile)."""
    board = pad.locator("canvas.dl-board")
    board.scroll_into_view_if_needed()
    box = board.bounding_box()
    scale = box["width"] / 280
    before = int(pad.get_attribute("data-updates"))
    started = time.perf_counter()
    for stroke in strokes:
        x0, y0 = stroke[0]
        page.mouse.move(box["x"] + x0 * scale, box["y"] + y0 * scale)
        page.mouse.down()
        for (xa, ya), (xb, yb) in zip(stroke, stroke[1:]):        # a pointer event every 2 px
            steps = max(2, int(math.hypot(xb - xa, yb - ya) / 2))
            page.mouse.move(box["x"] + xb * scale, box["y"] + yb * scale, steps=steps)
        page.mouse.up()
    page.wait_for_function("(pad) => pad.dataset.predicting === 'false'", arg=pad.element_handle(),
                           timeout=WAIT_MS)
    return time.perf_counter() - started, int(pad.get_attribute("data-updates")) - before


def board_pixels(pad):
    """The drawing board's 280 x 280 canvas, read back from the browser (red channel)."""
    values = pad.locator("canvas.dl-board").evaluate("""(c) => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const out = new Array(c.width * c.height);
        for (let i = 0; i < out.length; i++) out[i] = d[4 * i];
        return out; }""")
    return np.array(values, dtype=np.int64).reshape(280, 280)


# ---- the tests, in the order a learner goes through the notebook ---------------------------------

def test_run_all_shows_live_training_and_stop_ends_it(page):
    page.locator(".lm-MenuBar-item", has_text="Run").click()
    page.locator('li[data-command="runmenu:run-all"]').click()
    live = page.locator(".dl-live").first
    live.wait_for(timeout=RUN_ALL_MS)
    live.scroll_into_view_if_needed()
    # the curves update while it trains: the number of batch points drawn grows
    page.wait_for_function("(el) => Number(el.querySelector('[data-testid=loss-chart]').dataset.points) > 0",
                           arg=live.element_handle(), timeout=WAIT_MS)
    first = int(live.locator("[data-testid=loss-chart]").get_attribute("data-points"))
    page.wait_for_function(f"(el) => Number(el.querySelector('[data-testid=loss-chart]').dataset.points) > {first}",
                           arg=live.element_handle(), timeout=WAIT_MS)
    # after the first epoch (a model good enough to read digits), Stop
    page.wait_for_function("(el) => el.querySelectorAll('.dl-epochs tr').length >= 2",
                           arg=live.element_handle(), timeout=RUN_ALL_MS)
    shot(page, "live-training-1280")
    done_at_click = int(live.get_attribute("data-done"))
    live.locator("[data-testid=stop]").click()
    page.wait_for_function("(el) => el.dataset.state === 'stopped'", arg=live.element_handle(), timeout=WAIT_MS)
    done, total_text = int(live.get_attribute("data-done")), live.inner_text()
    assert done >= done_at_click
    assert "Stopped by the Stop button" in total_text
    steps_per_epoch = 60_000 // 32 + (60_000 % 32 > 0)
    assert done < 5 * steps_per_epoch, "training ran to the end: Stop did not reach the kernel"
    shot(page, "live-stopped-1280", live)
    # the cells after fit ran, in order, once training had stopped
    wait_idle(page, RUN_ALL_MS)
    assert not page.errors, page.errors
    out = run_code(page, "print('EPOCHS_RUN', len(history.epoch), model.stop_training, len(history.batches))")
    ran = re.search(r"EPOCHS_RUN (\d+) (\w+) (\d+)", out)
    assert ran and int(ran.group(1)) < 5 and ran.group(2) == "True" and int(ran.group(3)) == done


@pytest.mark.parametrize("name, strokes, digit", [("one", ONE, 1), ("zero", ZERO, 0), ("seven", SEVEN, 7)])
def test_draw_a_digit_and_read_the_prediction(page, name, strokes, digit):
    pad = page.locator(".dl-pad").first
    pad.locator("button", has_text="Clear").click()
    page.wait_for_function("(pad) => pad.dataset.predicting === 'false' && !pad.dataset.prediction",
                           arg=pad.element_handle(), timeout=WAIT_MS)
    seconds, updates = draw(page, pad, strokes)
    assert pad.get_attribute("data-prediction") == str(digit)
    assert pad.locator(".dl-big").inner_text() == str(digit)
    latencies = [float(v) for v in (pad.get_attribute("data-latencies") or "").split(",") if v]
    timings[name] = {"seconds_drawing": round(seconds, 3), "updates": updates,
                     "updates_per_second": round(updates / seconds, 1),
                     "median_round_trip_ms": round(statistics.median(latencies[-updates:]), 1) if updates else None}
    shot(page, f"draw-{name}-1280", pad)

    # The kernel's pad.pixels is what the browser's board shows, prepared the MNIST way here.
    from digitlens.datasets.images import prepare_image

    canvas = board_pixels(pad)
    board = ((canvas.reshape(140, 2, 140, 2).sum(axis=(1, 3)) + 2) // 4).astype(np.uint8)
    out = run_code(page, "import json; print('PIXELS', json.dumps(pad.pixels.tolist()), "
                         "'PREDICTED', pad.prediction, int(model.predict(pad.pixels[None]).argmax()))")
    found = re.search(r"PIXELS (\[.*\]) PREDICTED (\d) (\d)", out, re.S)
    assert found, out
    kernel_pixels = np.array(json.loads(found.group(1)), dtype=np.uint8)
    assert np.array_equal(kernel_pixels, prepare_image(board))
    assert int(found.group(2)) == int(found.group(3)) == digit


def test_inspect_a_neuron_and_an_output(page):
    pad = page.locator(".dl-pad").first
    pad.locator(".dl-neuron").nth(3).click()
    inspector = pad.locator(".dl-inspect")
    inspector.wait_for(timeout=WAIT_MS)
    page.wait_for_function("(el) => el.innerText.includes('Neuron 3 of')", arg=inspector.element_handle())
    assert "z = \u03a3 pixel \u00d7 weight + bias" in inspector.inner_text()
    shot(page, "inspect-neuron-1280", inspector)
    pad.locator(".dl-output").nth(7).click()
    page.wait_for_function("(el) => el.innerText.includes('Output 7')", arg=inspector.element_handle())
    text = inspector.inner_text()
    assert "pushed it up" in text and "softmax, step by step" in text
    shot(page, "inspect-output-1280", inspector)


def test_backprop_step_and_another(page):
    step = page.locator(".dl-backprop").first
    step.scroll_into_view_if_needed()
    page.wait_for_function("(el) => el.dataset.steps === '1'", arg=step.element_handle(), timeout=WAIT_MS)
    after_first = float(step.get_attribute("data-after"))
    step.locator("[data-testid=another-step]").click()
    page.wait_for_function("(el) => el.dataset.steps === '2'", arg=step.element_handle(), timeout=WAIT_MS)
    assert float(step.get_attribute("data-after")) > after_first      # the right digit keeps rising
    shot(page, "backprop-1280", step)


def test_small_screen(page):
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(500)

    def look_at(locator, name):
        locator.evaluate("(e) => e.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(800)            # JupyterLab draws the cells that come into view
        return shot(page, name)

    pad = page.locator(".dl-pad").first
    look_at(pad.locator("canvas.dl-board"), "draw-390")
    look_at(pad.locator(".dl-outputs"), "outputs-390")
    look_at(pad.locator(".dl-inspect"), "inspect-390")
    look_at(page.locator(".dl-live").first, "live-390")
    for widget in (".dl-pad", ".dl-live", ".dl-backprop"):
        fits = page.locator(widget).first.evaluate("(e) => e.scrollWidth <= e.parentElement.clientWidth + 1")
        assert fits, f"{widget} is wider than the output area on a phone"
    page.set_viewport_size({"width": 1280, "height": 900})
    assert not page.errors, page.errors


ECHO = """import anywidget
class Echo(anywidget.AnyWidget):
    _esm = '''
    export default { render({ model, el }) {
      const times = []; let sent = 0;
      model.on("msg:custom", () => {
        times.push(performance.now() - sent);
        if (times.length < 41) { sent = performance.now(); model.send({}); return; }
        times.sort((a, b) => a - b);
        el.dataset.echoMedian = times[20].toFixed(1);
      });
      setTimeout(() => { sent = performance.now(); model.send({}); }, 300);
    } };'''
    def __init__(self):
        super().__init__()
        self.on_msg(lambda widget, content, buffers: self.send(content))
Echo()"""


def test_measure_the_messaging_floor(page):
    """For the timings: the round trip of an empty anywidget message in the same JupyterLab,
    which no widget can beat."""
    run_code(page, ECHO)
    echo = page.locator("[data-echo-median]").first
    echo.wait_for(state="attached", timeout=WAIT_MS)
    timings["empty_message_round_trip_ms"] = float(echo.get_attribute("data-echo-median"))


@pytest.fixture(scope="module", autouse=True)
def write_timings():
    """After this file's tests: the draw round trip they measured, to artifacts/ (not a pass/fail
    number; nothing is written when no drawing was measured)."""
    yield
    if not timings:
        return
    TIMINGS.parent.mkdir(parents=True, exist_ok=True)
    floor = timings.pop("empty_message_round_trip_ms", None)
    rates = [t["updates_per_second"] for t in timings.values()]
    if not rates:
        return
    trips = [t["median_round_trip_ms"] for t in timings.values() if t["median_round_trip_ms"]]
    TIMINGS.write_text(json.dumps({
        "measured": datetime.datetime.now().isoformat(timespec="seconds"),
        "what": "drawing updates answered per second while the mouse draws in JupyterLab (each a round trip "
                "browser -> kernel -> browser, one at a time, at most one every 50 ms), and their round trip",
        "digits": timings, "median_updates_per_second": statistics.median(rates),
        "median_round_trip_ms": statistics.median(trips) if trips else None,
        "empty_anywidget_message_round_trip_ms": floor}, indent=2) + "\n")
