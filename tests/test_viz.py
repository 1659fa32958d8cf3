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
    """Collects what the report test checks: ids, <img> sources, <svg> count, every attribute."""

    def __init__(self):
        super().__init__()
        self.ids, self.images, self.svgs, self.attributes = set(), [], 0, []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.attributes += [(tag, k, v or "") for k, v in attrs.items()]
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "img":
            self.images.append(attrs["src"])
        if tag == "svg":
            self.svgs += 1


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
    assert "http" not in text.lower()                          # no address to fetch, anywhere
    assert all(not v.startswith(("//", "http")) for tag, k, v in page.attributes if k in ("src", "href"))
    assert page.svgs >= 1 and len(page.images) >= 12
    assert not any(src.startswith(("//", "http")) for src in page.images)
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG)
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


def test_report_of_a_cnn_draws_what_applies_and_notes_the_rest(data, tmp_path):
    from digitlens.io import load_model

    model = load_model(FIXTURES / "keras_cnn_bn.keras")           # Reshape, Conv2D, BatchNorm, pooling, Dense
    _, _, x, y = data
    page, text = parse(viz.write_report(model, tmp_path / "cnn.html", x_test=x, y_test=y, index=0))
    text = html.unescape(text)
    assert set(viz.report.SECTIONS) <= page.ids
    assert "http" not in text.lower()
    # No picture of pixels wired to a Dense layer: the layers before it say what they do instead.
    assert "reshape (Reshape) lays the same 784 numbers out as 28 x 28 x 1" in text
    assert "conv2d (Conv2D) slides 4 filters of 3 x 3 x 1 channel" in text
    assert "needs a first Dense layer that reads the image's pixels" in text
    assert page.svgs == 0 and len(page.images) >= 8                # no diagram; the other figures are there
    for phrase in ("4 channels x 2 (gamma, beta) = 8 weights + 4 x 2 moving statistics", "z - max",
                   "strengthened most", "confusion matrix"):
        assert phrase in text, phrase
    assert not re.search(r"pixel \(\d+, \d+\)", text)              # the Dense's inputs are not pixels


def test_diagram_of_a_cnn_is_refused_in_one_sentence(tmp_path):
    from digitlens.io import load_model

    with pytest.raises(DigitlensError, match="lesson's drawing of the network needs a first Dense layer"):
        viz.write_diagram(load_model(FIXTURES / "keras_cnn.keras"), tmp_path / "cnn.svg")
    assert list(tmp_path.iterdir()) == []
