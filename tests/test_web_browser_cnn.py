"""A convolutional network in the web app, end to end in a real headless Chromium.

`digitlens serve tests/fixtures/keras_cnn.keras` (a CNN saved by real Keras: Conv2D(4, 3x3) ->
MaxPooling2D -> Flatten -> Dense(8) -> Dense(10)) runs in a subprocess. The tests draw a digit
with mouse strokes, watch the feature maps and pooled maps appear, click one to see its filter's
kernel, check that every view drawn from per-pixel weights shows the server's reason in its place,
load a second real-Keras CNN (BatchNormalization, two Conv2D) through the page, and run axe-core
on each view at 390 and 1280 px. Screenshots go to artifacts/screenshots/cnn-*.png.

How many bytes a drawing update carries and how long the server took for it are written to
artifacts/web-timings.json ("cnn drawing"), never judged.
"""

import statistics

import numpy as np
import pytest
from conftest import FIXTURES

from digitlens.web.packing import unpack_maps
from test_web_browser import (SEVEN, THREE, WAIT_MS, api, axe_violations, browser, draw, expect_prediction,  # noqa: F401
                              served, open_page, record_timings, shot, wait_until_answered)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(mnist_dir, tmp_path_factory):
    """`serve(keras_cnn.keras)` in a subprocess on a free port, as `digitlens serve MODEL` runs it."""
    yield from served(FIXTURES / "keras_cnn.keras", mnist_dir, tmp_path_factory.mktemp("home"))


def real_errors(page):
    """The page's errors, but for Chromium's log line of each 409 the app answers by design (a view
    drawn from per-pixel weights, asked of a CNN: the page shows its reason)."""
    return [e for e in page.errors if "status of 409" not in e]


def wait_until_painted(page):
    """Until the Draw tab's board has its answer and the feature maps show it (featuremaps.js)."""
    wait_until_answered(page)
    page.wait_for_selector('[data-testid=feature-maps][data-painting="false"]', state="attached", timeout=WAIT_MS)


def lit_pixels(page, selector):
    """How many pixels of the canvas in `selector` are not black."""
    return page.eval_on_selector(selector, """(c) => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] > 0) n++; return n; }""")


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)])
def test_draw_on_a_cnn_watch_its_maps_and_inspect_a_filter(browser, server, width, height):
    from playwright.sync_api import expect

    page = open_page(browser, server, width, height, bypass_csp=True)     # axe is injected as a script
    tag = f"{width}x{height}"
    problems = []
    updates = []                           # (bytes, server ms) of every /api/predict while drawing
    page.on("response", lambda r: r.url.endswith("/api/predict") and r.ok and updates.append(r))
    expect(page.locator("#model-name")).to_contain_text("Conv2D 4 3x3 relu")
    expect(page.get_by_test_id("feature-maps")).to_be_visible()
    expect(page.locator("#strip-card")).to_be_hidden()              # the Dense layers do not read the pixels
    expect(page.locator("[data-testid^=fmap-0-]")).to_have_count(4)
    expect(page.locator("[data-testid^=fmap-1-]")).to_have_count(4)
    expect(page.get_by_test_id("fmaps-flatten")).to_contain_text("Flatten lays the 13 x 13 x 4 input end to end as 676 numbers")

    draw(page, SEVEN)
    expect_prediction(page, 7)
    wait_until_painted(page)
    bodies = [(len(r.body()), float(r.headers["server-timing"].split("dur=")[1])) for r in updates]
    assert bodies, "no prediction was made while drawing"
    answer = api(page, "/api/predict", {"pixels": page.evaluate("() => window.digitlensState.digit.pixels")})
    for m in answer["maps"]:                                          # every map is painted from the answer
        data = unpack_maps(m["pixels"])
        channels = len(data)
        for j in range(channels):
            lit = lit_pixels(page, f"[data-testid=fmap-{m['position']}-{j}] canvas")
            assert lit == int((data[j] > 0).sum()), (m["name"], j)
    assert sum(lit_pixels(page, f"[data-testid=fmap-0-{j}] canvas") for j in range(4)) > 100

    # Click a feature map: its filter's kernel, numbers and a tiny picture, and the map enlarged
    page.get_by_test_id("fmap-0-1").click()
    inspect = page.locator("#inspect-body")
    expect(inspect).to_contain_text("Filter 1 of conv2d")
    detail = api(page, "/api/maps/detail", {"pixels": page.evaluate("() => window.digitlensState.digit.pixels"),
                                            "layer": 0, "channel": 1})
    numbers = [float(t.replace("\u2212", "-")) for t in page.locator("[data-testid=kernel-numbers] td").all_inner_texts()]
    np.testing.assert_allclose(numbers, np.asarray(detail["kernel"])[..., 0].ravel(), atol=5e-4)
    expect(page.get_by_test_id("map-enlarged")).to_contain_text(f"{detail['max']:.3f}")
    expect(page.get_by_test_id("worked-sum")).to_contain_text(f"z = {detail['weighted_sum']:.4f}")
    expect(page.get_by_test_id("fmap-0-1")).to_have_attribute("aria-current", "true")
    problems += axe_violations(page, f"Draw with a filter inspected at {tag}")
    shot(page, f"cnn-draw-{tag}", full_page=True)
    page.get_by_test_id("next-map").click()
    expect(inspect).to_contain_text("Filter 2 of conv2d")
    # From the keyboard: the maps are one tab stop, the arrow keys move, Enter inspects
    page.get_by_test_id("fmap-0-2").focus()
    page.keyboard.press("ArrowRight")
    expect(page.get_by_test_id("fmap-0-3")).to_be_focused()
    page.keyboard.press("Enter")
    expect(inspect).to_contain_text("Filter 3 of conv2d")

    # A pooled map: no weights; the map it pooled beside it
    page.get_by_test_id("fmap-1-3").click()
    expect(inspect).to_contain_text("Pooled map 3 of max_pooling2d")
    expect(inspect).to_contain_text("conv2d's map 3")

    # Drawing more updates the inspected map too
    draw(page, [[(60, 300), (280, 300)]])
    wait_until_painted(page)
    expect(inspect).to_contain_text("Pooled map 3 of max_pooling2d")

    # A neuron of the Dense layer after Flatten: no weight per pixel to draw - the reason in the panel's place
    page.get_by_test_id("neuron-0-3").click()
    expect(page.get_by_test_id("inspect-unavailable")).to_contain_text("reads the 676 outputs of conv2d")
    page.get_by_test_id("output-7").click()
    expect(inspect).to_contain_text("Output 7")
    problems += axe_violations(page, f"Draw with an output inspected at {tag}")

    page.click("#tab-backprop")
    page.get_by_test_id("backprop-step").click()
    expect(page.locator("#bp-body")).to_be_visible()
    expect(page.locator(".bp-maps [data-testid=unavailable]")).to_contain_text("conv2d (Conv2D)")
    expect(page.get_by_test_id("change-maps")).to_be_hidden()
    expect(page.locator("#bp-layer-deltas canvas")).to_have_count(2)        # dense (676 x 8) and the outputs
    problems += axe_violations(page, f"Backprop at {tag}")
    shot(page, f"cnn-backprop-{tag}", full_page=True)

    page.click("#tab-train")
    expect(page.locator(".train-weights [data-testid=unavailable]")).to_contain_text("conv2d (Conv2D)")
    problems += axe_violations(page, f"Train at {tag}")

    page.click("#tab-model")
    expect(page.locator(".mistake").first).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#arch-diagram")).to_contain_text("MaxPool 2x2")
    problems += axe_violations(page, f"Model & data at {tag}")
    shot(page, f"cnn-model-{tag}", full_page=True)
    assert not problems, "\n".join(map(str, problems))
    assert not real_errors(page), page.errors
    if width == 1280:
        record_timings("cnn drawing", {"model": "keras_cnn.keras (Conv2D 4, MaxPool, Dense 8, Dense 10)",
                                       "updates": len(bodies), "median_bytes": statistics.median(b for b, _ in bodies),
                                       "median_server_ms": statistics.median(ms for _, ms in bodies)})
    page.context.close()


def test_load_a_cnn_with_batch_normalization_through_the_page(browser, server, tmp_path):
    from playwright.sync_api import expect

    page = open_page(browser, server, 1280, 800, bypass_csp=True)
    page.get_by_test_id("model-upload").set_input_files(str(FIXTURES / "keras_cnn_bn.keras"))
    expect(page.locator("#model-name")).to_contain_text("BatchNorm", timeout=WAIT_MS)
    # Reshape makes no maps; two Conv2D, a BatchNormalization and an AveragePooling2D do
    expect(page.locator(".fmap-block")).to_have_count(4)
    expect(page.get_by_test_id("fmaps-flatten")).to_contain_text("Global_average_pooling2d averages each of the 8 feature maps")
    expect(page.locator("#hidden-layers")).to_contain_text("reads the 8 numbers of global_average_pooling2d")
    draw(page, THREE)
    wait_until_painted(page)
    expect(page.get_by_test_id("prediction")).not_to_have_text("?")
    page.get_by_test_id("fmap-2-0").click()                          # the normalised maps: signed, no kernel
    expect(page.locator("#inspect-body")).to_contain_text("Normalised map 0 of batch_normalization")
    page.get_by_test_id("fmap-4-7").click()                          # the second Conv2D: 3x3 x 4 channels in
    expect(page.locator("[data-testid=kernel] .kernel-box")).to_have_count(4)
    page.get_by_test_id("map-show").click()
    expect(page.locator("#map-card [data-testid=unavailable]")).to_contain_text("no hidden Dense layer")
    assert not axe_violations(page, "a CNN without hidden Dense layers")
    shot(page, "cnn-bn-draw-1280x800", full_page=True)
    assert not real_errors(page), page.errors
    page.context.close()


def test_compare_a_dense_network_with_the_cnn(browser, server):
    """A = a dense network loaded by the learner, B = the CNN the app started with: side by side,
    the dense one's weight pictures beside the CNN's filters."""
    from playwright.sync_api import expect

    page = open_page(browser, server, 1280, 800, bypass_csp=True)
    page.get_by_test_id("model-upload").set_input_files(str(FIXTURES / "keras_small.keras"))
    expect(page.locator("#model-name")).to_contain_text("Dense 16 relu", timeout=WAIT_MS)
    expect(page.locator("#strip-card")).to_be_visible()            # a dense network flattens the pixels again
    expect(page.get_by_test_id("feature-maps")).to_be_hidden()
    page.click("#tab-compare")
    page.get_by_test_id("cmp-start").click()
    expect(page.get_by_test_id("cmp-b")).to_contain_text("keras_cnn.keras", timeout=WAIT_MS)
    expect(page.get_by_test_id("cmp-agreement")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_test_id("cmp-weights-a")).to_be_visible()
    expect(page.get_by_test_id("cmp-weights-b")).to_be_visible()              # the CNN's 4 filters of 3 x 3
    expect(page.locator("#cmp-weights-note")).to_contain_text("B: the first 4 filters of its Conv2D layer conv2d")
    size = page.eval_on_selector("[data-testid=cmp-weights-b]", "(c) => [c.width, c.height]")
    assert size == [4 * 4 + 1, 4 + 1]                                        # 4 columns of 3 + 1 px, one row
    assert not axe_violations(page, "Compare, a dense network and a CNN")
    shot(page, "cnn-compare-1280x800", full_page=True)
    assert not real_errors(page), page.errors
    page.context.close()


def test_the_guided_tour_explains_the_cnn_it_is_showing(browser, server):
    from playwright.sync_api import expect

    page = open_page(browser, server, 1280, 800, bypass_csp=True)
    page.get_by_test_id("tour-start").click()
    titles = []
    for _ in range(6):
        page.wait_for_function("() => !document.getElementById('tour').dataset.waiting", timeout=WAIT_MS)
        titles.append(page.locator("#tour-title").inner_text())
        if titles[-1] == "3. Convolution and pooling":
            expect(page.locator("#tour-text")).to_contain_text("feature map")
            assert page.locator("#fmaps-card").bounding_box()["height"] > 0
        if titles[-1] == "4. Dense connections":
            expect(page.locator("#tour-text")).to_contain_text("all 676 values")
            assert not axe_violations(page, "the tour on a CNN")
        page.get_by_test_id("tour-next").click()
    assert "3. Convolution and pooling" in titles and "3. Flatten" not in titles, titles
    assert not real_errors(page), page.errors
    page.context.close()
