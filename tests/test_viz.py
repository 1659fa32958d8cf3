"""Tests for digitlens.viz: every picture is made, saved and embedded the way it says.

The report's HTML is parsed and checked for each section, for pictures embedded as data (and no
address anywhere a browser would fetch), and the diagram's SVG is parsed as XML. Models: the
lesson's network after one quick epoch on 6,000 real MNIST images, and real-Keras files from
tests/fixtures.
"""

import base64
import html
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from digitlens import explain, viz
from digitlens.errors import DigitlensError
from digitlens.nn import lesson_model
from digitlens.viz import style

FIXTURES = Path(__file__).parent / "fixtures"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def data(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    return x_train[:6000], y_train[:6000], x_test[:1000], y_test[:1000]


@pytest.fixture(scope="module")
def model(data):
    x, y, _, _ = data
    model = lesson_model(seed=0)
    model.compile("adam", metrics=["accuracy"])
    model.fit(x, y, epochs=1, verbose=0)
    return model


class Page(HTMLParser):
    """Collects what the report test checks: ids, <img> sources, the tile grids' PNGs (in their
    <style>), <svg> count, every attribute, and each element's text by tag."""

    def __init__(self):
        super().__init__()
        self.ids, self.images, self.svgs, self.attributes, self.sprites = set(), [], 0, [], []
        self.h1 = []
        self._in_h1 = False

    def handle_data(self, data):
        self.sprites += re.findall(r"url\((data:image/png;base64,[A-Za-z0-9+/=]+)\)", data)
        if self._in_h1:
            self.h1.append(data)

    def handle_endtag(self, tag):
        if tag == "h1":
            self._in_h1 = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.attributes += [(tag, k, v or "") for k, v in attrs.items()]
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "img":
            self.images.append(attrs["src"])
        if tag == "svg":
            self.svgs += 1
        if tag == "h1":
            self._in_h1 = True


def parse(path):
    """(the parsed page, its text with the base64 picture data cut out)."""
    page = Page()
    text = Path(path).read_text(encoding="utf-8")
    page.feed(text)
    return page, re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "data:image/png;base64,", text)


# ---- colours ------------------------------------------------------------------------------------

def test_weight_colours_are_centred_on_zero():
    colours = style.colorize(np.array([-2.0, 0.0, 2.0]), limit=2.0).astype(int)
    negative, zero, positive = colours
    assert zero.min() > 240                                  # white-ish at exactly zero
    assert negative[0] > negative[2] and positive[2] > positive[0]  # red below, blue above
    assert style.symmetric_limit([-3.0, 1.0]) == 3.0
    assert style.symmetric_limit([0.0]) == 1.0               # never a zero-width scale
    ink = style.ink(np.array([0, 255], dtype=np.uint8))
    assert ink[0].tolist() == [255, 255, 255] and ink[1].tolist() == [0, 0, 0]


# ---- the diagram --------------------------------------------------------------------------------

def test_diagram_without_a_model_is_the_lessons_network(tmp_path):
    path = viz.write_diagram(None, tmp_path / "net.svg")
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    words = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for expected in ("28 x 28 image", "784 inputs", "256 neurons", "10 outputs",
                     "784 inputs x 256 units = 200,704 weights", "+ 256 biases = 200,960",
                     "256 inputs x 10 units = 2,560 weights", "+ 10 biases = 2,570", "203,530 parameters"):
        assert expected in words
    lines = [e for e in root.iter() if e.tag.endswith("line")]
    assert len(lines) > 900 + 2560                           # a sample of inputs, every later one


def test_diagram_of_a_trained_model_and_an_image(model, data, tmp_path):
    image = data[2][0]
    svg = viz.diagram_svg(model, image)
    root = ET.fromstring(svg)
    strokes = {e.get("stroke") for e in root.iter() if e.tag.endswith("line")}
    assert len(strokes) > 20                                  # coloured by weight, not one grey
    words = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    prediction = explain.trace(model, image)["prediction"]
    assert f"prediction, {prediction}" in words and "%" in words
    png = viz.write_diagram(model, tmp_path / "net.png", image=image)
    assert png.read_bytes().startswith(PNG)
    picture = viz.diagram_png(model)
    assert picture.ndim == 3 and picture.shape[2] == 3 and picture.dtype == np.uint8
    with pytest.raises(DigitlensError, match=".svg or .png"):
        viz.write_diagram(model, tmp_path / "net.jpg")


def test_diagram_of_a_keras_file_with_dropout(tmp_path):
    from digitlens.io import load_model

    model = load_model(FIXTURES / "keras_small.keras")
    root = ET.parse(viz.write_diagram(model, tmp_path / "small.svg")).getroot()
    words = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert "16 neurons" in words and "Dropout 20%" in words and "784 inputs x 16 units = 12,544 weights" in words


# ---- the figures --------------------------------------------------------------------------------

def test_every_figure_draws_and_saves(model, data, tmp_path):
    _, _, x, y = data
    image, label = x[0], int(y[0])
    t = explain.trace(model, image)
    step = explain.backprop_step(model, image, label)
    e = explain.evaluate(model, x, y)
    figures = {
        "flatten": viz.flatten_figure(image, pixel=(5, 14)),
        "parameters": viz.parameters_figure(model),
        "path": viz.path_figure(model, image, label=label),
        "softmax": viz.softmax_figure(t),
        "contributions": viz.contributions_figure(model, image),
        "templates": viz.templates_figure(model, x[:200]),
        "neuron": viz.neuron_figure(model, image, 3),
        "backprop": viz.backprop_figure(step, image),
        "confusion": viz.confusion_figure(e),
        "per_class": viz.per_class_figure(e),
        "mistakes": viz.mistakes_figure(e, x, count=8),
        "curves": viz.curves_figure(explain.curves(model.history)),
    }
    for name, figure in figures.items():
        assert hasattr(figure, "savefig"), name
        assert viz.save(figure, tmp_path / f"{name}.png").read_bytes().startswith(PNG)
    svg = viz.save(figures["softmax"], tmp_path / "softmax.svg").read_text()
    ET.fromstring(svg)


def test_weight_pictures_as_arrays_and_figures(model, data, tmp_path):
    mosaic = viz.weight_mosaic(model, columns=16, gap=1)
    assert mosaic.shape == (16 * 29 - 1, 16 * 29 - 1, 3) and mosaic.dtype == np.uint8
    # tile 0 is neuron 0's weights on its own symmetric scale
    weights = explain.weight_images(model)[0]
    np.testing.assert_array_equal(mosaic[:28, :28], style.colorize(weights, style.symmetric_limit(weights)))
    grid = viz.weight_grid(model, data[2][:300], by="activity", neurons=range(32))
    assert viz.png_bytes(grid).startswith(PNG)
    step = explain.backprop_step(model, data[2][0], int(data[3][0]))
    assert viz.change_mosaic(step, gap=1).shape == mosaic.shape


# ---- the report ---------------------------------------------------------------------------------

def test_report_has_every_section_and_nothing_external(model, data, tmp_path):
    _, _, x, y = data
    out = viz.write_report(model, tmp_path / "report.html", x_test=x, y_test=y, index=3,
                           data_name="MNIST test set")
    page, text = parse(out)
    assert set(viz.report.SECTIONS) <= page.ids
    assert not set(viz.report.CNN_SECTIONS) & page.ids         # the lesson's network has no convolution
    assert "http" not in text.lower()                          # no address to fetch, anywhere
    assert all(not v.startswith(("//", "http")) for tag, k, v in page.attributes if k in ("src", "href"))
    assert page.svgs >= 1 and len(page.images) >= 7
    assert not any(src.startswith(("//", "http")) for src in page.images)
    for src in page.images + page.sprites:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG)
    assert len(page.sprites) >= 3                              # the tile grids: weights, templates, mistakes
    for phrase in ("784 inputs x 256 units = 200,704 weights + 256 biases = 200,960", "795.04 KB",
                   "z - max", "strengthened most", "weakened most", "Confusion", "test image #3"):
        assert phrase in text or phrase.lower() in text.lower(), phrase
    step = explain.backprop_step(model, x[3], int(y[3]))
    assert f"{step['probs_after'][step['label']]:.2%}" in text
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]   # no temporary file left


def test_report_without_image_or_data_still_has_its_sections(tmp_path):
    from digitlens.io import load_model

    model = load_model(FIXTURES / "keras_small_tanh.keras")       # never trained, no optimizer
    page, text = parse(viz.write_report(model, tmp_path / "bare.html"))
    assert set(viz.report.SECTIONS) <= page.ids
    assert "http" not in text.lower()
    assert "Give an image" in text and "no training history" in text


def test_report_for_an_image_with_no_label(data, tmp_path):
    from digitlens.io import load_model

    model = load_model(FIXTURES / "keras_small.keras")             # Flatten, Dense, Dropout, Dense
    page, text = parse(viz.write_report(model, tmp_path / "one.html", image=data[2][7],
                                        image_name="my_digit.png"))
    assert {"path", "backprop"} <= page.ids
    assert "my_digit.png" in text and "and its label" in text


# ---- every hidden layer, the default example, colours and axes ---------------------------------

@pytest.fixture(scope="module")
def deep(data):
    """Dense(64, tanh) -> Dense(32, sigmoid) -> Dense(10), trained briefly on real MNIST."""
    from digitlens.nn import Adam, Dense, Flatten, Sequential

    x, y, _, _ = data
    model = Sequential([Flatten(input_shape=(28, 28)), Dense(64, "tanh"), Dense(32, "sigmoid"),
                        Dense(10, "softmax")], seed=0)
    model.compile(Adam(0.003), metrics=["accuracy"])
    model.fit(x[:3000], y[:3000], epochs=1, verbose=0)
    return model


def texts(figure):
    """Every piece of text in a figure: titles, labels, tick labels, free text."""
    return [t.get_text() for t in figure.findobj(lambda artist: hasattr(artist, "get_text"))]


def colours_used(figure):
    """Every colour a figure paints with, as '#rrggbb' (patches, lines, text)."""
    from matplotlib.colors import to_hex

    found = set()
    for artist in figure.findobj():
        for getter in ("get_facecolor", "get_color", "get_edgecolor"):
            if hasattr(artist, getter):
                try:
                    value = getattr(artist, getter)()
                    values = np.atleast_2d(value) if not isinstance(value, str) else [value]
                    found |= {to_hex(v) for v in values}
                except (ValueError, TypeError):
                    continue
    return found


def test_which_pixels_drove_a_neuron_of_the_last_hidden_layer_is_that_neuron(deep, data):
    """With two hidden layers, the neurons that push an output belong to the second; their pixel
    maps are theirs (d z / d pixels through the first layer), not first-layer neurons'."""
    image = data[2][4]
    figure = viz.contributions_figure(deep, image, maps=3)
    top = explain.output_contributions(deep, image, explain.trace(deep, image)["prediction"], top=7)["top_up"]
    words = " ".join(texts(figure))
    assert "neurons of dense_1, the last hidden layer" in words
    drawn = [ax.images[0].get_array() for ax in figure.axes if ax.images]
    for row, picture in zip(top[:3], drawn):
        assert f"which pixels drove\ndense_1 neuron {row['neuron']}" in words
        np.testing.assert_allclose(picture, explain.pixel_contributions(deep, image, row["neuron"], layer=1), atol=1e-7)
        assert not np.allclose(picture, explain.pixel_contributions(deep, image, row["neuron"], layer=0))
    second = viz.neuron_figure(deep, image, top[0]["neuron"], layer=1)
    assert "its votes: weights\nto the outputs" in texts(second)
    votes = next(ax for ax in second.axes if ax.get_title() == "its votes: weights\nto the outputs")
    assert [t.get_text() for t in votes.get_xticklabels()] == [str(k) for k in range(10)]
    first = viz.neuron_figure(deep, image, 5, layer=0)
    assert "its weights to dense_1" in texts(first)


def test_the_report_of_a_deeper_model_shows_every_hidden_layer(deep, data, tmp_path):
    _, _, x, y = data
    page, text = parse(viz.write_report(deep, tmp_path / "deep.html", x_test=x, y_test=y, index=4))
    alts = [v for tag, k, v in page.attributes if tag == "img" and k == "alt"]
    labels = [v for tag, k, v in page.attributes if k == "aria-label"]
    assert any(a.startswith("dense_1 neuron") for a in alts) and any(a.startswith("dense neuron") for a in alts)
    assert "what each neuron of dense_1 looks for" in labels          # its effective weights, as tiles
    assert "hidden layer 2" in text and "tanh squashes every sum" in text and "sigmoid squashes" in text
    assert "Dead neurons in dense " in text and "Dead neurons in dense_1 " in text


def test_the_report_picks_an_image_a_backprop_step_can_teach_and_says_why(model, data, tmp_path):
    _, _, x, y = data
    page, text = parse(viz.write_report(model, tmp_path / "picked.html", x_test=x, y_test=y))
    chosen = int(re.search(r"the report picked test image #(\d+)", text).group(1))
    probs = model.predict(x)
    wrong = np.flatnonzero(probs.argmax(axis=1) != y)
    assert chosen in wrong                                          # a mistake ...
    assert probs[chosen, y[chosen]] == pytest.approx(probs[wrong, y[wrong]].max())   # ... the nearest miss
    assert "the network misreads it" in text and "This image was picked because" in text
    step = explain.backprop_step(model, x[chosen], int(y[chosen]))
    assert step["probs_after"][step["label"]] - step["probs_before"][step["label"]] > 1e-4


def test_orange_means_the_prediction_and_accuracy_ends_at_100(model, data):
    _, _, x, y = data
    image = x[0]
    prediction = int(model.predict(image[None]).argmax())
    orange = style.HIGHLIGHT
    votes = viz.neuron_figure(model, image, 3)
    oranges = [t.get_text() for t in votes.findobj(lambda a: hasattr(a, "get_color") and hasattr(a, "get_text"))
               if t.get_text() and str(t.get_color()).lower() == orange]
    assert oranges == [str(prediction)]                             # only the prediction's tick is orange
    e = explain.evaluate(model, x, y)
    for figure in (viz.per_class_figure(e), viz.flatten_figure(image), viz.parameters_figure(model),
                   viz.curves_figure(explain.curves(model.history))):
        assert orange not in colours_used(figure)                  # no prediction shown: no orange
    curves = viz.curves_figure(explain.curves({"loss": [0.5, 0.3], "accuracy": [0.9, 0.95],
                                               "val_loss": [0.4, 0.35], "val_accuracy": [0.92, 0.93]}))
    assert "test set, end of epoch" in texts(curves) and "validation" not in " ".join(texts(curves))
    assert style.TEST_SET in colours_used(curves)
    accuracy_axes = [ax for ax in curves.axes if "Accuracy" in ax.get_title(loc="left")]
    assert accuracy_axes[0].get_ylim()[1] == pytest.approx(1.0)
    assert viz.per_class_figure(e).axes[0].get_ylim()[1] == pytest.approx(1.0)


def test_figures_drawn_side_by_side_make_the_same_report_as_drawn_in_turn(model, data, tmp_path):
    _, _, x, y = data
    x, y = x[:200], y[:200]                                          # a small test set: the same figures
    together = viz.write_report(model, tmp_path / "together.html", x_test=x, y_test=y, index=5, workers=2)
    in_turn = viz.write_report(model, tmp_path / "in_turn.html", x_test=x, y_test=y, index=5, workers=1)
    assert together.read_bytes() == in_turn.read_bytes()
    assert "digitlens-picture-" not in together.read_text()          # every placeholder filled


def test_tile_grids_show_each_tile_as_its_piece_of_one_png():
    import io

    from PIL import Image

    from digitlens.viz import tiles

    rng = np.random.default_rng(0)
    pictures = rng.integers(0, 256, (7, 4, 4, 3), dtype=np.uint8)
    html = tiles.tile_grid(pictures, [f"t{i}" for i in range(7)], columns=3, size=20)
    uri = re.search(r"url\((data:image/png;base64,[^)]+)\)", html).group(1)
    sheet = np.asarray(Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB"))
    assert sheet.shape == (3 * 4, 3 * 4, 3)
    assert "background-size: 300% 300%" in html
    positions = re.findall(r"background-position: ([\d.]+)% ([\d.]+)%", html)
    for i, (px, py) in enumerate(positions):               # CSS: position p% shows the piece at p% of the way
        r, c = divmod(i, 3)
        assert (float(px), float(py)) == pytest.approx((c * 50.0, r * 50.0))
        np.testing.assert_array_equal(sheet[r * 4:(r + 1) * 4, c * 4:(c + 1) * 4], pictures[i])
    assert html.count("<figcaption>") == 7 and "t6" in html


def test_diagram_of_a_deeper_model_draws_every_layer(deep, data):
    image = data[2][4]
    root = ET.fromstring(viz.diagram_svg(deep, image))
    words = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for expected in ("64 neurons", "dense, tanh", "32 neurons", "dense_1, sigmoid", "10 outputs",
                     "64 inputs x 32 units =", "2,048 weights", "+ 32 biases = 2,080"):
        assert expected in words, expected
    tanh = np.asarray(explain.trace(deep, image)["layers"][1]["activation"])
    assert (tanh < 0).any()
    fills = [c.get("fill") for c in root.iter() if c.tag.endswith("circle")]
    rgb = [(int(f[1:3], 16), int(f[3:5], 16), int(f[5:7], 16)) for f in fills if f.startswith("#")]
    reddish = [c for c in rgb if c[0] > c[2] + 4 and c[1] <= c[2]]     # red, not grey, not the orange prediction
    assert len(reddish) == int((tanh < 0).sum())               # negative outputs are red, not drawn as silent


# ---- the report: how it learned, the hidden space, the confusions' cells ----------------------------

@pytest.fixture(scope="module")
def timed(data):
    """The lesson's network after one epoch on 6,000 images (188 steps), its timeline recorded."""
    from digitlens.explain.timeline import Timeline, choose_probes

    x, y, x_test, y_test = data
    model = lesson_model(seed=2)
    model.compile("adam", metrics=["accuracy"])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[Timeline(probes=choose_probes(x_test, y_test))])
    return model


@pytest.fixture(scope="module")
def timed_report(timed, data, tmp_path_factory):
    """The timed model's report on 500 test images, following test image #3: its text."""
    _, _, x, y = data
    out = viz.write_report(timed, tmp_path_factory.mktemp("report") / "report.html", x_test=x[:500], y_test=y[:500],
                           index=3, workers=1)
    return out.read_text(encoding="utf-8")


def sprite_of(text, start, end):
    """The PNG (as an RGB array) of the first tile grid between text[start:end]."""
    import io

    from PIL import Image

    name = re.search(r'class="tile-grid (tiles-[0-9a-f]+)"', text[start:end]).group(1)
    uri = re.search(r"\." + name + r" \.px \{ background-image: url\(data:image/png;base64,([A-Za-z0-9+/=]+)\)", text).group(1)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(uri))).convert("RGB"))


def test_report_shows_how_it_learned_frame_by_frame(timed, timed_report):
    from html import escape

    from digitlens.nn.timeline import log_spaced_steps
    from digitlens.viz.tiles import sprite
    from digitlens.viz.timeline import snapshot_words

    t = timed.timeline
    assert t.steps == log_spaced_steps(188) + [188]
    text = timed_report
    assert "http" not in re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text).lower()
    section = text[text.index('<section id="timeline">'):]
    assert f"recorded {len(t)} snapshots" in section and "carries no training timeline" not in section
    frames = list(re.finditer(r'<div class="tl-frame" data-k="(\d+)" data-caption="([^"]*)"( hidden)?>', section))
    assert [int(f.group(1)) for f in frames] == list(range(len(t)))
    assert [f.group(3) for f in frames] == [" hidden"] * (len(t) - 1) + [None]          # it opens at the end
    assert [f.group(2) for f in frames] == [escape(snapshot_words(t, k)) for k in range(len(t))]
    # each frame's neurons are the snapshot's weights, each tile on its own scale, as viz colours them
    slots = np.linspace(0, 63, 16).round().astype(int)
    for k in (0, 5, len(t) - 1):
        start = frames[k].start()
        end = frames[k + 1].start() if k + 1 < len(t) else len(section)
        expected = sprite(np.stack([style.colorize(w, style.symmetric_limit(w)) for w in t.weights_at(k)[slots]]), 8)
        np.testing.assert_array_equal(sprite_of(section, start, end), expected)
        bars = re.findall(r'style="height:([\d.]+)%"', section[start:end])
        probs = t.probabilities[k]
        assert [float(b) for b in bars] == [round(100 * float(probs[i, label]), 1)
                                            for i, label in enumerate(t.probe_labels)]
    # the chart of the probe images' probabilities: one line per probe, each point its snapshot's
    chart = section[section.index('<svg class="probes-chart"'):section.index("</svg>")]
    lines = re.findall(r'points="([^"]+)"', chart)
    assert len(lines) == len(t.probe_labels)
    top, bottom = 12, 300 - 56                               # the plot's band, in the SVG's own units
    for i, line in enumerate(lines):
        ys = [float(point.split(",")[1]) for point in line.split()]
        p = [1 - (value - top) / (bottom - top) for value in ys]
        np.testing.assert_allclose(p, t.probabilities[:, i, t.probe_labels[i]], atol=0.06 / (bottom - top))


def test_report_maps_the_hidden_space_and_shows_the_confusions_cells(timed, timed_report, data):
    _, _, x, y = data
    x, y = x[:500], y[:500]
    text = timed_report
    space = text[text.index('<section id="hidden-space">'):text.index('<section id="backprop">')]
    assert "NumPy's SVD" in space and "500 test images" in space and '<img src="data:image/png' in space
    evaluation = explain.evaluate(timed, x, y)
    probs = timed.predict(x)
    said = probs.argmax(axis=1)
    top = evaluation["top_confusions"][:6]
    assert top
    for c in top:
        label, predicted = c["label"], c["predicted"]
        # the matrix's count links to the cell's gallery
        assert f'<a href="#cell-{label}-{predicted}">{c["count"]}</a>' in text
        start = text.index(f'<div class="cell-gallery" id="cell-{label}-{predicted}">')
        gallery = text[start:text.index("</div></div>", start)]
        members = np.flatnonzero((y == label) & (said == predicted))
        order = members[np.argsort(-probs[members, predicted], kind="stable")][:16]
        captions = re.findall(r"<figcaption>#(\d+) (\d+)%</figcaption>", gallery)
        assert [int(i) for i, _ in captions] == order.tolist()
        assert [int(p) for _, p in captions] == [round(100 * probs[i, predicted]) for i in order]
        assert f"{len(members):,} image" in gallery


def test_report_of_a_model_without_a_timeline_says_how_to_record_one(model, data, tmp_path):
    _, _, x, y = data
    page, text = parse(viz.write_report(model, tmp_path / "plain.html", x_test=x[:200], y_test=y[:200], index=0))
    assert "timeline" in page.ids and "carries no training timeline" in text and "tl-frame" not in text


def test_the_timed_report_drawn_side_by_side_is_the_same_as_drawn_in_turn(timed, data, tmp_path):
    _, _, x, y = data
    together = viz.write_report(timed, tmp_path / "together.html", x_test=x[:300], y_test=y[:300], index=1, workers=2)
    in_turn = viz.write_report(timed, tmp_path / "in_turn.html", x_test=x[:300], y_test=y[:300], index=1, workers=1)
    assert together.read_bytes() == in_turn.read_bytes()


def test_pictures_of_few_colours_are_exact_palette_pngs():
    import io

    from PIL import Image

    from digitlens.viz.output import png_bytes

    weights = style.colorize(np.random.default_rng(0).normal(size=(56, 84)))       # one 256-colour scale
    image = Image.open(io.BytesIO(png_bytes(weights)))
    assert image.mode == "P"
    np.testing.assert_array_equal(np.asarray(image.convert("RGB")), weights)
    noise = np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)  # thousands of colours
    image = Image.open(io.BytesIO(png_bytes(noise)))
    assert image.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(image), noise)
def test_report_of_a_cnn_draws_what_applies_and_notes_the_rest(data, tmp_path):
    from digitlens.io import load_model

    model = load_model(FIXTURES / "keras_cnn_bn.keras")           # Reshape, Conv2D, BatchNorm, pooling, Dense
    _, _, x, y = data
    path = viz.write_report(model, tmp_path / "cnn.html", x_test=x, y_test=y, index=0)
    page, text = parse(path)
    text = html.unescape(text)
    assert set(viz.report.SECTIONS) <= page.ids
    assert "http" not in text.lower()
    # No picture of pixels wired to a Dense layer: the layers before it say what they do instead.
    assert "reshape (Reshape) lays the same 784 numbers out as 28 x 28 x 1" in text
    assert "conv2d (Conv2D) slides 4 filters of 3 x 3 x 1 channel" in text
    assert "needs a first Dense layer that reads the image's pixels" in text
    assert 'class="diagram"' not in path.read_text()      # not the lesson's drawing of pixels wired to neurons
    assert len(page.images) >= 4                            # parameters, path, pushes, backprop drawn
    for phrase in ("4 channels x 2 (gamma, beta) = 8 weights + 4 x 2 moving statistics", "z - max",
                   "strengthened most", "Confusion matrix"):
        assert phrase in text, phrase
    assert not re.search(r"pixel \(\d+, \d+\)", text)              # the Dense's inputs are not pixels


def section_text(document, section_id):
    """The text of one <section> of a report page, its tags removed."""
    body = re.search(rf'<section id="{section_id}">(.*?)</section>', document, re.S).group(1)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def test_report_of_a_cnn_shows_its_filters_maps_pooling_fields_and_batch_norm(data, tmp_path):
    from digitlens.io import load_model
    from digitlens.explain import conv

    model = load_model(FIXTURES / "keras_cnn_bn.keras")
    _, _, x, y = data
    path = viz.write_report(model, tmp_path / "cnn.html", x_test=x, y_test=y, index=4)
    page, _ = parse(path)
    document = path.read_text()
    sections = viz.report.SECTIONS
    assert viz.report.sections_for(model) == sections[:3] + viz.report.CNN_SECTIONS + sections[3:]   # after parameters
    assert set(viz.report.CNN_SECTIONS) <= page.ids
    nav = re.search(r"<nav>(.*?)</nav>", document).group(1)
    assert re.findall(r'href="#([\w-]+)"', nav) == list(viz.report.sections_for(model))
    # every weight of the first convolution, in the order of its filters, rows and columns
    kernel, bias = model.layers[1].get_weights()
    shown = re.findall(r"[+-]\d\.\d\d", section_text(document, "filters"))
    expected = [f"{v:+.2f}" for k in range(4) for v in list(kernel[:, :, 0, k].ravel()) + [bias[k]]]
    assert shown[:len(expected)] == expected
    maps = conv.feature_maps(model, x[4])
    best = maps["strongest"][maps["order"][0]][0]
    assert (f"Filter {maps['order'][0]} responds most: {best['value']:.3f} at ({best['row']}, {best['col']})"
            in section_text(document, "feature-maps"))
    pooling = section_text(document, "pooling")
    assert "average_pooling2d cuts each map into 2 x 2 windows" in pooling
    assert "global_average_pooling2d averages each whole 5 x 5 map to one number" in pooling
    fields = section_text(document, "receptive-field")
    assert re.search(r"conv2d_1\s+\(2, 2\)\s+8-20\s+8-20\s+13 x 13 = 169", fields)   # 4r .. 4r + 12
    stats = conv.batch_norm_statistics(model, x[:256])
    norm = section_text(document, "batch-norm")
    assert "a batch of 256 images (50,176 values per channel)" in norm
    assert f"{stats['mean'][0]:.4f}" in norm and f"{stats['moving_variance'][3]:.4f}" in norm
    assert len(page.sprites) >= 4            # feature maps (2 layers), pooling, the second layer's kernels
    cards = re.findall(r'<div role="listitem" class="layer-card">.*?<b>([^<]*)</b><span>([^<]*)</span><span>([^<]*)</span>',
                       document)
    assert cards == [(d.label, " x ".join(map(str, d.output_shape)), f"{d.count:,} params" if d.count else
                      "no weights") for d in model.describe()]                   # the network, layer by layer
    path_text = section_text(document, "path")
    pooled = np.ravel(explain.trace(model, x[4])["layers"][3]["activation"])        # average_pooling2d, 7 x 7 x 4
    assert re.search(rf"average_pooling2d\s+AveragePooling2D\s+7 x 7 x 4\s+196\s+{pooled.min():.3f}\s+"
                     rf"{pooled.max():.3f}", path_text)
    first = explain.backprop_step(model, x[4], int(y[4]))["filters"][0]                 # the step the page took
    learning = section_text(document, "backprop")
    assert "What changed in each filter" in learning
    assert f"filter {first['order'][0]} before" in learning and f"change, size {first['change'][first['order'][0]]:.3g}" in learning


def test_report_sections_of_a_cnn_one_at_a_time(data):
    from digitlens.io import load_model

    model = load_model(FIXTURES / "keras_cnn.keras")              # no BatchNormalization
    e = explain.explain(model, data[2][0], int(data[3][0]))
    assert "max_pooling2d cuts each map" in viz.report.section_html(e, "pooling")
    with pytest.raises(DigitlensError, match="section: expected one of network, flatten, parameters, filters, "
                                              "feature-maps, pooling, receptive-field, path"):
        viz.report.section_html(e, "batch-norm")
    # a convolution behind a Dense layer: its units have a place in the Reshape's maps, not in the image
    from digitlens.nn import Sequential
    from digitlens.nn.conv import Conv2D
    from digitlens.nn.layers import Dense, Flatten
    from digitlens.nn.reshaping import Reshape

    odd = Sequential([Flatten(input_shape=(28, 28)), Dense(784), Reshape((28, 28, 1)), Conv2D(2, 3), Flatten(),
                      Dense(10, "softmax")], seed=0).build()
    note = viz.report.section_html(explain.explain(odd, data[2][0]), "receptive-field")
    assert 'class="note"' in note and "cannot be traced past 'reshape' (Reshape)" in html.unescape(note)


def test_diagram_of_a_cnn_draws_each_layer_and_this_images_maps(data, tmp_path):
    """A network that keeps rows and columns is drawn as its layers in a row: the labels, shapes and
    counts from each layer's description, and with an image the first maps the model itself makes."""
    from digitlens.io import load_model
    from digitlens.viz.stack_diagram import MAPS

    model = load_model(FIXTURES / "keras_cnn_bn.keras")
    image = data[2][1]
    root = ET.fromstring(viz.diagram_svg(model, image))
    words = [t.text or "" for t in root.iter() if t.tag.endswith("text")]
    for layer in model.layers:
        d = layer.describe()
        assert d.name in words and d.label in words
        assert " x ".join(map(str, d.output_shape)) in words
    assert "16 parameters" in words and "4 of 8 maps drawn" in words          # BatchNorm's 4 x 4; conv2d_1's 8 maps
    probs = model.predict(image[None])[0]
    assert f"{probs.max():.1%}" in words
    # The first conv layer's first map, pixel by pixel: the darkest squares are its largest values.
    conv = dict(model.activations(image[None]))["conv2d"][0][..., 0]
    fills = [r.get("fill") for r in root.iter() if r.tag.endswith("rect")]
    darkest = "#000000" if np.abs(conv).max() > 0 else None
    assert darkest in fills and MAPS == 4
    plain = viz.diagram_svg(model)                                           # no image: frames, no maps
    assert plain.count("<rect") < root.findall(".//{*}rect").__len__()
    viz.write_diagram(model, tmp_path / "cnn.png", image=image)
    assert (tmp_path / "cnn.png").stat().st_size > 10_000


@pytest.mark.parametrize("width", [390, 1280])
def test_a_cnns_report_fits_a_phone_and_a_desktop_and_passes_axe(width, data, tmp_path):
    """The CNN sections in a real browser: nothing wider than the screen, the tile grids wrapping to
    it, every tile a piece of its sprite, and axe-core finding nothing serious in them."""
    import os
    import shutil

    from playwright import sync_api

    from digitlens.io import load_model

    chromium = os.environ.get("DIGITLENS_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    axe = Path(os.environ.get("DIGITLENS_AXE") or Path(__file__).parents[1] / ".venv" / "npm" / "node_modules" /
               "axe-core" / "axe.min.js")
    if not Path(chromium).exists() or not axe.is_file():
        pytest.fail(f"this test needs Chromium ({chromium}) and axe-core ({axe}): ./dev test installs both")
    _, _, x, y = data
    path = viz.write_report(load_model(FIXTURES / "keras_cnn_bn.keras"), tmp_path / "cnn.html", x_test=x, y_test=y,
                            index=4)
    sections = ["#" + name for name in viz.report.CNN_SECTIONS] + ["#network", '#path > table[tabindex="0"]']
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        page = browser.new_page(viewport={"width": width, "height": 900})
        page.goto(path.resolve().as_uri())
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        grids = page.evaluate("""() => [...document.querySelectorAll('.cnn-tiles .tile-grid')].map((g) => ({
            wide: g.scrollWidth <= g.clientWidth + 1, tiles: g.querySelectorAll('.px').length,
            columns: getComputedStyle(g).gridTemplateColumns.split(' ').length}))""")
        assert len(grids) >= 4 and all(g["wide"] for g in grids)               # wrapped, never scrolled
        if width == 390:
            assert max(g["columns"] for g in grids) <= 9                     # 36 px kernel tiles, not 16 to a row
        page.add_script_tag(path=str(axe))
        found = page.evaluate("async (include) => (await axe.run({ include: include.map((s) => [s]) }, "
                              "{ resultTypes: ['violations'] })).violations.filter((v) => "
                              "['serious', 'critical'].includes(v.impact)).map((v) => [v.id, v.nodes.map((n) => n.target.join(' '))])", sections)
        page.screenshot(path=str(tmp_path / f"cnn-{width}.png"), full_page=True)
        browser.close()
    assert found == []
