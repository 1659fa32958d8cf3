"""Learning as it happens and two models side by side, in a real headless Chromium (Playwright).

`serve(MODEL)` runs in a subprocess with the lesson's network after an epoch on all of MNIST,
trained with the Timeline callback, as `digitlens train` trains it. The tests scrub the Train tab's
replay with the slider, the keyboard and Play, watch a neuron learn and a probe get recognised,
train in the page and find the job's own replay; load a second model into the Compare tab, draw
one digit through both and open a disagreement in Draw; click through the mistakes explorer into
Backprop; point at, click and step through the hidden-space maps with the digit drawn on them;
and move the report's slider with no network at all. Pictures are compared pixel for pixel with
digitlens.viz's colours; axe-core checks every new view at 390 and 1280 px; screenshots go to
artifacts/screenshots/ for people to look at.

Each page is its own browser session (its own cookie), so what one test loads or trains is its own.
"""

from pathlib import Path

import numpy as np
import pytest
from test_web_browser import (SEVEN, SHOTS, TRAINING_MS, WAIT_MS, api, axe_violations, browser, draw,  # noqa: F401
                              expect_prediction, served, open_page, shot)
from web_helpers import unpack

pytestmark = pytest.mark.browser

WIDTHS = {"phone": (390, 844), "desktop": (1280, 800)}


@pytest.fixture(scope="module")
def models(mnist, tmp_path_factory):
    """(the lesson's network with its timeline, a small sigmoid one to compare it with), as files."""
    from digitlens import recipes
    from digitlens.explain.timeline import Timeline, choose_probes
    from digitlens.io import save_model

    (x_train, y_train), (x_test, y_test) = mnist
    folder = tmp_path_factory.mktemp("models")
    lesson = recipes.build_model(seed=0)
    recipes.train(lesson, x_train, y_train, recipes.get_recipe("default", epochs=1),
                  callbacks=[Timeline(probes=choose_probes(x_test, y_test))])
    small = recipes.build_model([(32, "sigmoid")], seed=1)
    recipes.train(small, x_train[:12000], y_train[:12000], recipes.get_recipe("default", epochs=1))
    for model in (lesson, small):
        model.class_names = [str(k) for k in range(10)]
    save_model(lesson, folder / "lesson.keras")
    save_model(small, folder / "small-sigmoid.keras")
    return folder / "lesson.keras", folder / "small-sigmoid.keras", lesson


@pytest.fixture(scope="module")
def server(models, mnist_dir, tmp_path_factory):
    """`serve(MODEL)` in a subprocess on a free port; yields its URL."""
    yield from served(models[0], mnist_dir, tmp_path_factory.mktemp("home"))


@pytest.fixture
def page(browser, server):
    page = open_page(browser, server, bypass_csp=True)        # axe is injected as a script
    yield page
    page.context.close()
    assert not page.errors, page.errors


def canvas_pixels(page, selector):
    """The canvas's RGB pixels as an (height, width, 3) array."""
    width, height, data = page.eval_on_selector(selector, """c => [c.width, c.height,
        Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)]""")
    return np.array(data, dtype=np.uint8).reshape(height, width, 4)[..., :3]


def stroke_on(page, testid, strokes):
    """Mouse strokes on a 336 x 336 drawing board, in its own coordinates."""
    board = page.get_by_test_id(testid)
    board.scroll_into_view_if_needed()
    box = board.bounding_box()
    scale = box["width"] / 336
    for stroke in strokes:
        page.mouse.move(box["x"] + stroke[0][0] * scale, box["y"] + stroke[0][1] * scale)
        page.mouse.down()
        for (ax, ay), (bx, by) in zip(stroke, stroke[1:]):
            for t in range(1, 7):
                page.mouse.move(box["x"] + (ax + (bx - ax) * t / 6) * scale, box["y"] + (ay + (by - ay) * t / 6) * scale)
        page.mouse.up()


def replay_at(page, k):
    page.wait_for_function("(k) => document.getElementById('train-replay').dataset.k === String(k)", arg=k,
                           timeout=WAIT_MS)


# ---- the Train tab's replay ----------------------------------------------------------------------

def test_scrub_the_timeline_watch_a_neuron_learn_and_a_probe_get_recognised(page, models):
    from playwright.sync_api import expect

    from digitlens.viz.style import colorize

    timeline = models[2].timeline
    last = len(timeline) - 1
    page.click("#tab-train")
    replay = page.get_by_test_id("train-replay")
    expect(replay).to_be_visible(timeout=WAIT_MS)
    replay_at(page, last)                                       # it opens at the trained network
    expect(page.locator("#replay-note")).to_contain_text(f"{len(timeline)} snapshots")
    slider = page.get_by_test_id("replay-slider")
    slider.focus()
    page.keyboard.press("Home")
    replay_at(page, 0)
    expect(page.get_by_test_id("replay-words")).to_have_text("step 0 (the random start)")
    assert slider.get_attribute("aria-valuetext") == "step 0 (the random start)"
    # the first neuron's tile is the random start's weights, in digitlens.viz's colours
    snapshot = api(page, "/api/timeline/snapshot/0")
    weights = unpack(snapshot["weights"])
    np.testing.assert_array_equal(weights, timeline.weights_at(0))
    tile = canvas_pixels(page, "#replay-weights")[1:29, 1:29]
    np.testing.assert_array_equal(tile, colorize(weights[0], snapshot["weights"]["limit"]))
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    replay_at(page, 2)
    expect(page.get_by_test_id("replay-words")).to_contain_text("step 2 (epoch")
    # Play goes through every snapshot to the end
    page.get_by_test_id("replay-play").click()
    expect(page.get_by_test_id("replay-play")).to_have_text("Pause")
    replay_at(page, last)
    expect(page.get_by_test_id("replay-play")).to_have_text("Play", timeout=WAIT_MS)

    # watch neuron N learn: one picture per recorded step, each on its own scale
    neuron = timeline.neurons[9]
    page.get_by_test_id("replay-neuron").select_option(str(neuron))
    film = page.get_by_test_id("neuron-film")
    expect(film.locator(".film-frame")).to_have_count(len(timeline))
    first = unpack(api(page, f"/api/timeline/neuron/{neuron}")["weights"])[0]
    np.testing.assert_array_equal(canvas_pixels(page, "[data-testid=neuron-film] .film-frame:first-child canvas"),
                                  colorize(first, np.abs(first).max()))
    film.locator(".film-frame").nth(4).click()
    replay_at(page, 4)
    expect(film.locator(".film-frame").nth(4)).to_have_attribute("aria-current", "step")
    page.get_by_test_id("replay-weights").scroll_into_view_if_needed()
    shot(page, "train-replay-neuron-1280")

    # watch this digit get recognised: a hard probe, followed through the steps
    page.get_by_test_id("probe-12").click()
    focus = page.get_by_test_id("replay-focus")
    expect(focus).to_have_attribute("data-kind", "probe")
    probe = timeline.probe_labels[12]
    p = timeline.probabilities[4][12][probe]
    expect(focus).to_contain_text(f"At step {timeline.steps[4]:,}: p({probe}) = {100 * p:.1f}%")
    slider.focus()
    page.keyboard.press("End")
    replay_at(page, last)
    p = timeline.probabilities[last][12][probe]
    expect(focus).to_contain_text(f"p({probe}) = {100 * p:.1f}%")
    expect(page.get_by_test_id("probe-12")).to_have_attribute("aria-pressed", "true")
    page.get_by_test_id("replay-focus").scroll_into_view_if_needed()
    shot(page, "train-replay-probe-1280")


def test_a_job_trained_in_the_page_ends_with_its_own_replay(page):
    from playwright.sync_api import expect

    from digitlens.nn.timeline import log_spaced_steps

    page.click("#tab-train")
    expect(page.get_by_test_id("train-replay")).to_be_visible(timeout=WAIT_MS)
    page.locator("[data-testid=layer-units]").first.fill("24")
    page.fill("#t-epochs", "1")
    page.fill("#t-batch", "32")
    page.fill("#t-samples", "800")                 # 25 steps
    page.get_by_test_id("train-start").click()
    expect(page.get_by_test_id("train-replay")).to_be_hidden()          # the old model's replay steps aside
    expect(page.get_by_test_id("train-status")).to_contain_text("Done", timeout=TRAINING_MS)
    expect(page.get_by_test_id("train-replay")).to_be_visible(timeout=WAIT_MS)
    steps = log_spaced_steps(25) + [25]
    expect(page.locator("#replay-note")).to_contain_text(f"{len(steps)} snapshots")
    replay_at(page, len(steps) - 1)
    expect(page.get_by_test_id("replay-words")).to_contain_text("step 25 (end of epoch 1)")
    expect(page.get_by_test_id("replay-neuron").locator("option")).to_have_count(24 + 1)   # all 24 neurons, and the prompt
    assert api(page, "/api/timeline")["steps"] == steps


# ---- the Compare tab -----------------------------------------------------------------------------

def test_compare_with_a_file_draw_one_digit_through_both_and_open_a_disagreement(page, models):
    from playwright.sync_api import expect

    page.click("#tab-compare")
    expect(page.get_by_test_id("cmp-b")).to_contain_text("not chosen")
    assert page.get_by_test_id("cmp-previous").is_disabled() and page.get_by_test_id("cmp-start").is_disabled()
    page.get_by_test_id("compare-upload").set_input_files(str(models[1]))
    expect(page.get_by_test_id("cmp-b")).to_contain_text("loaded from small-sigmoid.keras", timeout=WAIT_MS)
    expect(page.get_by_test_id("cmp-agreement")).to_be_visible(timeout=WAIT_MS)
    c = api(page, "/api/compare")
    expect(page.get_by_test_id("cmp-agreement")).to_have_text(f"{100 * c['agreement']:.2f}%")
    expect(page.get_by_test_id("cmp-table")).to_contain_text("784 inputs x 32 units = 25,088 weights")
    expect(page.get_by_test_id("cmp-table")).to_contain_text(f"{100 * c['accuracy'][1]:.2f}%")
    expect(page.get_by_test_id("cmp-only-a").locator(".cmp-item")).to_have_count(len(c["only_a"]))
    diff = c["confusion_difference"]
    expect(page.get_by_test_id("cmp-diff").locator("tr").nth(4).locator("td").nth(8)).to_have_text(
        "" if not diff[3][8] else f"{diff[3][8]:+d}")

    # one digit through both at once: the board's last picture, read by both as the server says
    stroke_on(page, "cmp-canvas", SEVEN)
    expect(page.get_by_test_id("cmp-answers")).to_have_attribute("data-state", "shown", timeout=WAIT_MS)
    page.wait_for_timeout(500)                               # the stroke's last answer
    last = page.evaluate("""async () => { const board = document.querySelector('[data-testid=cmp-canvas]');
        const r = await fetch('/api/compare/predict', { method: 'POST', headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ image: board.toDataURL('image/png') }) }); return r.json(); }""")
    expect(page.get_by_test_id("cmp-prediction-a")).to_have_text(str(last["a"]["prediction"]), timeout=WAIT_MS)
    expect(page.get_by_test_id("cmp-prediction-b")).to_have_text(str(last["b"]["prediction"]))
    assert last["a"]["prediction"] == 7
    shot(page, "compare-1280", full_page=True)

    # a disagreement opens in Draw, where the model every tab uses (A) reads it right
    item = c["only_a"][0]
    page.get_by_test_id(f"cmp-only-a-{item['index']}").click()
    expect(page.locator("#panel-draw")).to_be_visible()
    expect(page.locator("#digit-source")).to_contain_text(f"#{item['index']}")
    expect_prediction(page, item["label"])


# ---- the mistakes explorer ------------------------------------------------------------------------

def test_a_confusion_cells_image_opens_in_backprop_with_its_label(page):
    from playwright.sync_api import expect

    page.click("#tab-model")
    evaluation = api(page, "/api/evaluation")
    top = evaluation["top_confusions"][0]
    label, said = top["label"], top["predicted"]
    page.get_by_test_id(f"cell-{label}-{said}").click()
    cell = api(page, f"/api/evaluation/cell?label={label}&predicted={said}")
    images = page.get_by_test_id("cell-images")
    expect(images.locator(".cell-item")).to_have_count(len(cell["shown"]))
    order = [int(t.removeprefix("cell-image-")) for t in
             images.locator(".mistake").evaluate_all("(bs) => bs.map((b) => b.dataset.testid)")]
    assert order == [m["index"] for m in cell["shown"]]                   # surest mistake first
    first = cell["shown"][0]
    expect(images.locator(".mistake").first).to_contain_text(f"{100 * first['confidence']:.1f}%")
    page.get_by_test_id(f"cell-backprop-{first['index']}").click()
    expect(page.locator("#panel-backprop")).to_be_visible()
    expect(page.get_by_test_id(f"bp-label-{label}")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#bp-digit-note")).to_contain_text(f"#{first['index']}")
    page.get_by_test_id("backprop-step").click()
    expect(page.locator("#bp-body")).to_be_visible(timeout=WAIT_MS)


# ---- the hidden-space maps ------------------------------------------------------------------------

def map_position(page, canvas, points, i):
    """Where point i of a map is drawn on the screen (map.js's frame: each map fills its square)."""
    box = page.locator(canvas).bounding_box()
    points = np.asarray(points)
    lo, hi = points.min(axis=0), points.max(axis=0)
    m = 10
    x = box["x"] + m + (points[i, 0] - lo[0]) * (box["width"] - 2 - 2 * m) / (hi[0] - lo[0]) + 1
    y = box["y"] + box["height"] - 1 - m - (points[i, 1] - lo[1]) * (box["height"] - 2 - 2 * m) / (hi[1] - lo[1])
    return x, y


def test_the_maps_show_the_drawn_digit_point_at_an_image_and_load_it(page):
    from playwright.sync_api import expect

    draw(page, SEVEN)
    expect_prediction(page, 7)
    page.get_by_test_id("map-show").click()
    maps = page.get_by_test_id("maps")
    expect(maps).to_be_visible(timeout=WAIT_MS)
    expect(maps).to_have_attribute("data-digit", "shown", timeout=WAIT_MS)
    data = api(page, "/api/map")
    pixels = page.evaluate("() => window.digitlensState.digit.pixels")
    where = api(page, "/api/map/project", {"pixels": pixels})
    # the digit is drawn where the server put it: a dark ring there on the hidden map
    x, y = map_position(page, "#map-hidden", np.vstack([data["hidden"]["points"], [where["hidden"]]]), len(data["labels"]))
    box = page.locator("#map-hidden").bounding_box()
    ring = canvas_pixels(page, "#map-hidden")
    ratio = ring.shape[1] / (box["width"] - 2)
    cx, cy = (x - box["x"] - 1) * ratio, (y - box["y"] - 1) * ratio
    around = ring[int(cy - 12 * ratio):int(cy + 12 * ratio), int(cx - 12 * ratio):int(cx + 12 * ratio)]
    assert (around.max(axis=-1) < 60).sum() > 20, "no dark ring where the digit lands"
    # point at an image: its picture and number; click: it goes on the board
    points = data["hidden"]["points"]
    i = int(np.argmax(np.asarray(points)[:, 0]))             # the rightmost: no other dot near it
    page.get_by_test_id("map-hidden").scroll_into_view_if_needed()
    page.mouse.move(*map_position(page, "#map-hidden", points, i))
    expect(page.get_by_test_id("map-peek")).to_contain_text(f"test image #{i}, a {data['labels'][i]}")
    shot(page, "map-1280")
    page.mouse.click(*map_position(page, "#map-hidden", points, i))
    expect(page.locator("#digit-source")).to_contain_text(f"#{i}")
    expect(page.locator("#digit-source")).to_contain_text("from the map")
    # the keyboard: each map is a slider over the test images
    page.get_by_test_id("map-pixels").focus()
    page.keyboard.press("Home")
    expect(page.get_by_test_id("map-pixels")).to_have_attribute("aria-valuetext", f"test image #0, a {data['labels'][0]}")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    expect(page.locator("#digit-source")).to_contain_text("#1 ")
    expect_prediction(page, api(page, "/api/data/test/1")["label"])


# ---- every new view at a phone's and a desktop's width ----------------------------------------------

@pytest.mark.parametrize("size", list(WIDTHS))
def test_the_new_views_at_phone_and_desktop_widths(browser, server, models, size):
    """Each new view fits the screen and passes axe-core with no serious or critical violation."""
    from playwright.sync_api import expect

    width, height = WIDTHS[size]
    page = open_page(browser, server, width, height, bypass_csp=True)
    tag = f"{width}x{height}"
    problems = []

    def check(where):
        wide = page.evaluate("() => document.documentElement.scrollWidth")
        assert wide <= width, f"{where} at {tag}: the page is {wide} px wide"
        problems.extend(axe_violations(page, f"{where} at {tag}"))

    page.click("#tab-train")
    expect(page.get_by_test_id("train-replay")).to_be_visible(timeout=WAIT_MS)
    replay_at(page, len(models[2].timeline) - 1)
    page.get_by_test_id("probe-3").click()
    expect(page.get_by_test_id("replay-focus")).to_have_attribute("data-kind", "probe")
    check("Train with the replay")
    page.get_by_test_id("train-replay").screenshot(path=str(SHOTS / f"train-replay-{tag}.png"))

    page.click("#tab-compare")
    page.get_by_test_id("compare-upload").set_input_files(str(models[1]))
    expect(page.get_by_test_id("cmp-agreement")).to_be_visible(timeout=WAIT_MS)
    page.get_by_test_id("cmp-use-digit").click()                       # no digit yet: says so
    expect(page.locator("#toast")).to_contain_text("no digit in the Draw tab")
    check("Compare")
    shot(page, f"compare-{tag}", full_page=True)

    page.click("#tab-draw")
    draw(page, SEVEN)
    expect_prediction(page, 7)
    page.get_by_test_id("map-show").click()
    expect(page.get_by_test_id("maps")).to_have_attribute("data-digit", "shown", timeout=WAIT_MS)
    check("Draw with the maps")
    page.get_by_test_id("map-card").screenshot(path=str(SHOTS / f"map-{tag}.png"))

    page.click("#tab-compare")
    page.get_by_test_id("cmp-use-digit").click()
    expect(page.get_by_test_id("cmp-prediction-a")).to_have_text("7", timeout=WAIT_MS)

    page.click("#tab-model")
    top = api(page, "/api/evaluation")["top_confusions"][0]
    page.get_by_test_id(f"cell-{top['label']}-{top['predicted']}").click()
    expect(page.get_by_test_id("cell-images").locator(".cell-item").first).to_be_visible(timeout=WAIT_MS)
    check("Model & data with a cell's images")
    page.get_by_test_id("cell-images").screenshot(path=str(SHOTS / f"mistakes-{tag}.png"))
    assert not problems, "\n".join(map(str, problems))
    assert not page.errors, page.errors
    page.context.close()


# ---- the report's slider -------------------------------------------------------------------------------

def test_the_reports_slider_moves_through_the_snapshots_offline(browser, models, mnist, tmp_path):
    from playwright.sync_api import expect

    from digitlens.viz.report import write_report

    _, (x_test, y_test) = mnist
    lesson = models[2]
    report = write_report(lesson, tmp_path / "report.html", x_test=x_test[:1000], y_test=y_test[:1000], index=0,
                          workers=1)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    asked = []
    context.route("**/*", lambda route: (asked.append(route.request.url), route.continue_() if
                                         route.request.url.startswith(("file:", "data:")) else route.abort()))
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(Path(report).as_uri())
    frames = page.locator("#timeline-slider .tl-frame")
    expect(frames).to_have_count(len(lesson.timeline))
    expect(frames.last).to_be_visible()
    slider = page.locator("#timeline-slider input[type=range]")
    slider.focus()
    page.keyboard.press("Home")
    expect(frames.first).to_be_visible()
    expect(frames.last).to_be_hidden()
    expect(page.locator("#timeline-slider output")).to_have_text("step 0 (the random start)")
    page.keyboard.press("ArrowRight")
    expect(frames.nth(1)).to_be_visible()
    expect(page.locator("#timeline-slider output")).to_contain_text("step 1 (epoch")
    page.locator("#timeline").screenshot(path=str(SHOTS / "report-timeline-1280.png"))
    assert not errors, errors
    assert all(url.startswith(("file:", "data:")) for url in asked), [u for u in asked if not u.startswith("data:")]
    context.close()
