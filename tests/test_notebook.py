"""digitlens.notebook without a browser: the widgets' Python side, the pictures, the example
notebook run headless by nbclient, and Stop reaching a real kernel while fit runs.

The widgets are driven here by the messages their JavaScript sends (the same dicts and bytes);
what they answer is compared with digitlens.explain and the model itself. The browser side is
tests/test_notebook_lab.py (a real JupyterLab).
"""

import json
import os
import queue
import signal
import time

import nbformat
import numpy as np
import pytest
from conftest import REPO

from digitlens import explain, nn
from digitlens.datasets.images import prepare_image
from digitlens.notebook import assets, display, payloads
from digitlens.notebook.live import LiveTraining, MAX_POINTS
from digitlens.notebook.pad import BOARD, DrawPad, as_digit
from digitlens.notebook.step import BackpropStep

LESSON = REPO / "examples" / "lesson.ipynb"


class Sent:
    """Collects what a widget sends to its views: custom messages (errors)."""

    def __init__(self, widget):
        self.messages = []
        widget.send = lambda content, buffers=None: self.messages.append(content)


def stroke_board(points, width=10):
    """A 140 x 140 board with a white stroke through `points`, as the browser would paint it."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (BOARD, BOARD), 0)
    ImageDraw.Draw(image).line(points, fill=255, width=width, joint="curve")
    return np.array(image)


def send_board(pad, board, seq=1):
    """What pad.js sends: the rectangle of the board that changed, as bytes."""
    changed = np.argwhere(board != pad.board)
    (top, left), (bottom, right) = changed.min(axis=0), changed.max(axis=0)
    patch = board[top:bottom + 1, left:right + 1]
    content = {"type": "board", "seq": seq, "x": int(left), "y": int(top), "w": int(patch.shape[1]),
               "h": int(patch.shape[0])}
    pad._on_message(pad, content, [memoryview(np.ascontiguousarray(patch).tobytes())])
    return patch.size


@pytest.fixture(scope="module")
def deep_model(mnist):
    """Two hidden layers, briefly trained: the widgets must show every hidden layer."""
    (x_train, y_train), _ = mnist
    model = nn.lesson_model(hidden=((64, "relu"), (32, "tanh")), seed=3)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x_train[:6000], y_train[:6000], epochs=1, verbose=0)
    return model


# ---- the drawing pad -----------------------------------------------------------------------------

def test_pad_prepares_the_board_and_predicts_like_the_model(small_trained_model):
    pad = DrawPad(small_trained_model)
    board = stroke_board([(70, 20), (72, 70), (74, 120)])       # a 1
    sent = send_board(pad, board)
    assert sent < BOARD * BOARD / 4                              # only the changed rectangle travels
    assert np.array_equal(pad.board, board)
    assert np.array_equal(pad.pixels, prepare_image(board))
    expected = small_trained_model.predict(pad.pixels[None])[0]
    np.testing.assert_allclose(pad.probabilities, expected, rtol=1e-6, atol=1e-7)
    assert pad.prediction == int(expected.argmax()) == pad.result["prediction"] == 1
    # the bytes the views draw: the 784 inputs are the image's rows end to end; each Dense
    # layer's z and activation are trace()'s
    assert np.array_equal(np.frombuffer(pad.strip, np.uint8), pad.pixels.ravel())
    t = explain.trace(small_trained_model, pad.pixels)
    dense = [row for row in t["layers"] if row["fully_connected"]]
    values = np.frombuffer(pad.layers, "<f4")
    np.testing.assert_array_equal(values, np.concatenate([np.r_[r["z"], r["activation"]] for r in dense]).astype("<f4"))
    # small: the whole answer for the lesson's network
    size = len(pad.strip) + len(pad.layers) + len(pad.steps) + len(json.dumps(pad.result))
    assert size < 8_000, size


def test_pad_image_from_python_and_blank(small_trained_model, mnist):
    _, (x_test, y_test) = mnist
    pad = DrawPad(small_trained_model)
    pad.image = x_test[7]
    assert np.array_equal(pad.pixels, x_test[7])
    assert pad.prediction == int(small_trained_model.predict(x_test[7][None]).argmax())
    assert np.array_equal(pad.board[::5, ::5], x_test[7])          # shown enlarged on the board
    assert np.frombuffer(pad.board_loaded[4:], np.uint8).reshape(BOARD, BOARD).tolist() == pad.board.tolist()
    pad.image = x_test[7] / 255.0                                  # floats 0-1 as the lesson has them
    assert np.array_equal(pad.pixels, x_test[7])
    pad.clear()
    assert pad.pixels is None and pad.prediction is None and pad.result["empty"]
    with pytest.raises(Exception, match="expected a 28x28 digit"):
        pad.image = np.zeros((5, 5))


def test_pad_refuses_bad_messages_with_a_line(small_trained_model):
    pad = DrawPad(small_trained_model)
    sent = Sent(pad)
    pad._on_message(pad, {"type": "board", "seq": 1, "x": 130, "y": 0, "w": 20, "h": 5}, [b"\0" * 100])
    pad._on_message(pad, {"type": "board", "seq": 2, "x": 0, "y": 0, "w": 4, "h": 4}, [b"\0" * 3])
    pad._on_message(pad, {"type": "inspect", "layer": 0, "unit": 999}, [])
    assert [m["type"] for m in sent.messages] == ["error"] * 3
    assert "inside 140 x 140" in sent.messages[0]["message"]
    assert "expected 16 bytes" in sent.messages[1]["message"]


def test_pad_inspects_every_layer(deep_model, mnist):
    _, (x_test, _) = mnist
    pad = DrawPad(deep_model)
    assert [layer["units"] for layer in pad.setup["layers"]] == [64, 32, 10]
    pad.image = x_test[0]
    image = x_test[0]
    # a first-layer neuron: explain.neuron_detail's numbers
    pad._on_message(pad, {"type": "inspect", "layer": 0, "unit": 5}, [])
    detail = explain.neuron_detail(deep_model, image, 5)
    assert pad.inspected["kind"] == "pixels" and pad.inspected["z"] == pytest.approx(detail["z"])
    data = np.frombuffer(pad.inspected_data, "<f4")
    np.testing.assert_array_equal(data[:784], detail["weights"].ravel())
    np.testing.assert_array_equal(data[784:], detail["pixel_contributions"].ravel())
    # a neuron of the second hidden layer: its pushes add up, with its bias, to its z
    pad._on_message(pad, {"type": "inspect", "layer": 1, "unit": 4}, [])
    info = pad.inspected
    t = explain.trace(deep_model, image)
    row = [r for r in t["layers"] if r["fully_connected"]][1]
    assert info["kind"] == "pushes" and info["z"] == pytest.approx(row["z"][4])
    pushes = payloads.layer_contributions(np.asarray(t["layers"][row_index(t, 1) - 1]["activation"], np.float32),
                                          deep_model.layers[row_index(t, 1)])[:, 4]
    assert pushes.sum() + info["bias"] == pytest.approx(info["z"], abs=1e-4)
    assert [r["neuron"] for r in info["top_up"]] == [int(i) for i in np.argsort(-pushes, kind="stable")[:10] if pushes[i] > 0]
    # an output: the same as explain.output_contributions, with the softmax
    pad._on_message(pad, {"type": "inspect", "layer": 2, "unit": 3}, [])
    out = explain.output_contributions(deep_model, image, 3)
    assert pad.inspected["output"] and pad.inspected["softmax"] is not None
    assert [r["neuron"] for r in pad.inspected["top_up"]] == [r["neuron"] for r in out["top_up"]]
    assert pad.inspected["z"] == pytest.approx(out["z"], abs=1e-5)
    # the inspection follows the drawing
    pad.image = x_test[1]
    assert pad.inspected["z"] == pytest.approx(explain.output_contributions(deep_model, x_test[1], 3)["z"], abs=1e-5)


def row_index(t, k):
    """The position in trace()'s layers of the k-th fully connected layer."""
    return [i for i, r in enumerate(t["layers"]) if r["fully_connected"]][k]


def test_as_digit():
    assert as_digit(np.full(784, 1.0)).max() == 255
    assert as_digit(np.full((28, 28), 7, np.uint8)).max() == 7
    with pytest.raises(Exception, match="0-255"):
        as_digit(np.full(784, -1.0))


# ---- LiveTraining --------------------------------------------------------------------------------

def fit_with(model, x, y, live, epochs=2, **kwargs):
    return model.fit(x, y, epochs=epochs, batch_size=64, verbose=0, callbacks=[live], **kwargs)


def test_live_training_reports_every_batch_and_epoch(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    model = nn.lesson_model(seed=1)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    live = LiveTraining()
    history = fit_with(model, x_train[:4000], y_train[:4000], live, validation_data=(x_test[:1000], y_test[:1000]))
    p = live.view.progress
    assert p["state"] == "finished" and p["done"] == p["total"] == 2 * 63
    assert [e["loss"] for e in p["epochs"]] == pytest.approx(history.history["loss"])
    assert [e["val_accuracy"] for e in p["epochs"]] == pytest.approx(history.history["val_accuracy"])
    curve = np.frombuffer(live.view.curve, "<f4").reshape(-1, 5)
    assert len(curve) == len(history.batches) <= MAX_POINTS
    np.testing.assert_allclose(curve[:, 1], [b["loss"] for b in history.batches], rtol=1e-6)
    np.testing.assert_allclose(curve[:, 3], explain.history.moving_average([b["loss"] for b in history.batches],
                                                                          live.window), rtol=1e-5)
    assert curve[62, 0] == pytest.approx(1.0) and curve[-1, 0] == pytest.approx(2.0)
    weights = np.frombuffer(live.view.weights, "<f4").reshape(-1, 28, 28)
    np.testing.assert_array_equal(weights, explain.weight_images(model)[:64])     # the trained weights


def test_live_training_curve_stays_small(mnist):
    (x_train, y_train), _ = mnist
    model = nn.lesson_model(seed=1)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    live = LiveTraining(weights=0)
    model.fit(x_train[:40000], y_train[:40000], epochs=1, batch_size=16, verbose=0, callbacks=[live])
    curve = np.frombuffer(live.view.curve, "<f4").reshape(-1, 5)
    assert len(curve) <= MAX_POINTS and curve[-1, 0] == pytest.approx(1.0)
    assert live.view.weights == b""


def test_stop_button_and_interrupt_end_training_cleanly(mnist):
    (x_train, y_train), _ = mnist
    model = nn.lesson_model(seed=2)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    live = LiveTraining(weights=0)

    class ClickStop(nn.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 9:          # what live.js sends when Stop is clicked
                live.view._message(live.view, {"type": "stop"}, [])

    history = model.fit(x_train[:6400], y_train[:6400], epochs=3, batch_size=64, verbose=0,
                        callbacks=[live, ClickStop()])
    assert len(history.batches) == 10 and len(history.epoch) == 1
    assert live.view.progress["state"] == "stopped" and live.view.progress["reason"] == "the Stop button"

    live = LiveTraining(weights=0)

    class Interrupt(nn.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 4:
                os.kill(os.getpid(), signal.SIGINT)    # what the notebook's own stop button does

    previous = signal.getsignal(signal.SIGINT)
    history = model.fit(x_train[:6400], y_train[:6400], epochs=3, batch_size=64, verbose=0,
                        callbacks=[live, Interrupt()])
    assert len(history.batches) in (5, 6) and live.view.progress["reason"] == "an interrupt of the kernel"
    assert signal.getsignal(signal.SIGINT) is previous          # given back when fit ends


def test_second_interrupt_stops_at_once(mnist):
    (x_train, y_train), _ = mnist
    model = nn.lesson_model(seed=2)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    live = LiveTraining(weights=0)

    class Twice(nn.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 2:
                os.kill(os.getpid(), signal.SIGINT)
                os.kill(os.getpid(), signal.SIGINT)

    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x_train[:6400], y_train[:6400], epochs=1, batch_size=64, verbose=0, callbacks=[live, Twice()])
    assert signal.getsignal(signal.SIGINT) is previous


# ---- one backprop step ---------------------------------------------------------------------------

def test_backprop_widget_steps_like_explain_and_keeps_going(small_trained_model, mnist):
    _, (x_test, y_test) = mnist
    model = small_trained_model
    before = model.params.copy()
    widget = BackpropStep(model, x_test[0], 3)           # a wrong label: a big step
    reference = explain.backprop_step(model, x_test[0], 3)
    assert widget.result["probs_after"] == pytest.approx(reference["probs_after"])
    np.testing.assert_array_equal(np.frombuffer(widget.maps, "<f4"), reference["change_maps"].ravel())
    widget._message(widget, {"type": "step"}, [])
    assert widget.result["number"] == 2
    # step 2 starts where step 1 left the weights, so p(3) keeps rising
    assert widget.result["probs_before"] == pytest.approx(reference["probs_after"], abs=1e-6)
    assert widget.trail[2] > widget.trail[1] > widget.trail[0]
    widget._message(widget, {"type": "label", "label": 7}, [])
    assert widget.result["number"] == 1 and widget.label == 7
    assert widget.result["probs_after"] == pytest.approx(explain.backprop_step(model, x_test[0], 7)["probs_after"])
    np.testing.assert_array_equal(model.params, before)           # the model itself never changes


# ---- pictures ------------------------------------------------------------------------------------

def test_model_shows_summary_arithmetic_and_diagram():
    from digitlens import keras

    model = keras.models.Sequential([keras.layers.Flatten(input_shape=(28, 28)),
                                     keras.layers.Dense(256, activation="relu"),
                                     keras.layers.Dense(10, activation="softmax")])
    assert model.built                          # as in Keras: input_shape= builds the model at once
    html = display.model_html(model)
    assert "784 inputs x 256 units = 200,704 weights + 256 biases = 200,960" in html
    assert "203,530" in html and "<svg" in html and "Not built yet" not in html
    unbuilt = keras.models.Sequential([keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    html = display.model_html(unbuilt)
    assert "Not built yet" in html and "0 (unbuilt)" in html and not unbuilt.built


def test_ipython_shows_models_and_explanations_as_pictures(small_trained_model, mnist):
    from IPython.core.interactiveshell import InteractiveShell

    _, (x_test, y_test) = mnist
    shell = InteractiveShell.instance()
    assert display.register(shell)
    data, _ = shell.display_formatter.format(small_trained_model)
    assert "<svg" in data["text/html"] and "200,960" in data["text/html"]
    e = explain.explain(small_trained_model, x_test[0], int(y_test[0]))
    data, _ = shell.display_formatter.format(e)
    for name in ("network", "flatten", "parameters", "path", "neurons", "backprop", "evaluation", "training"):
        assert f'data-section="{name}"' in data["text/html"]


def test_explanation_sections_one_at_a_time(small_trained_model, mnist):
    _, (x_test, y_test) = mnist
    e = display.explain(small_trained_model, x_test[0], label=y_test[0], x=x_test[:500], y=y_test[:500])
    flatten = e.flatten._repr_html_()
    assert 'data-section="flatten"' in flatten and 'data-section="path"' not in flatten
    assert "<img" in flatten and ".digitlens-report" in flatten
    assert "Accuracy" in e.evaluation.html or "accuracy" in e.evaluation.html
    assert e.data.trace["prediction"] == int(small_trained_model.predict(x_test[:1]).argmax())
    blank = display.explain(small_trained_model)
    assert "Give an image" in blank.path.html
    with pytest.raises(Exception, match="expected one of"):
        e.section("nope")


def test_style_is_confined_to_the_report():
    style = display._style()
    rules = [rule.split("{")[0].strip() for rule in style[len("<style>"):-len("</style>")].split("}") if "{" in rule]
    assert rules and all(sel.strip().startswith(".digitlens-report") for r in rules for sel in r.split(","))


# ---- the front-end modules -----------------------------------------------------------------------

def test_widgets_ship_the_web_apps_own_modules():
    modules = dict(assets.linked("notebook/static/pad.js"))
    assert {"web/static/js/colors.js", "web/static/js/state.js", "notebook/static/board.js"} <= set(modules)
    names = list(modules)
    assert names[-1] == "notebook/static/pad.js"                  # every module after what it needs
    for name, text in modules.items():
        assert not assets.IMPORT.search(text), f"{name}: an import left unlinked"
        for needed in assets.dependencies(name, assets.read(name)):
            assert names.index(needed) < names.index(name)
    # colors.js is the page's file itself, not a copy
    original = (assets.PACKAGE / "web/static/js/colors.js").read_text()
    assert modules["web/static/js/colors.js"] == original.replace('"./api.js"', '"digitlens:web/static/js/api.js"')
    for entry in ("notebook/static/live.js", "notebook/static/step.js"):
        assert "web/static/js/colors.js" in dict(assets.linked(entry))


def test_package_data_includes_the_widget_files():
    text = (REPO / "pyproject.toml").read_text()
    assert '"notebook/static/*"' in text and '"anywidget' in text


# ---- the example notebook, headless --------------------------------------------------------------

def test_the_lesson_notebook_runs_top_to_bottom(tmp_path, mnist_dir):
    from nbclient import NotebookClient

    nb = nbformat.read(LESSON, as_version=4)
    parameters = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1
    parameters[0].source = "EPOCHS = 1\nTRAIN_IMAGES = 12_000"     # a shorter lesson, same cells
    os.environ["DIGITLENS_DATA"] = str(mnist_dir)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    outputs = {i: c.outputs for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    assert not [o for out in outputs.values() for o in out if o.output_type == "error"]
    html = [o.data.get("text/html", "") for out in outputs.values() for o in out if "data" in o]
    assert any("200,960" in h and "<svg" in h for h in html)                 # the model's picture
    assert any('data-section="flatten"' in h for h in html)                  # e.flatten
    widgets = [o for out in outputs.values() for o in out
               if "data" in o and "application/vnd.jupyter.widget-view+json" in o.data]
    assert len(widgets) == 3                                                  # live, pad, backprop
    text = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "")
                     for out in outputs.values() for o in out)
    assert "accuracy:" in text and "(None, None)" in text                     # evaluate; a blank pad
    assert (tmp_path / "mnist.keras").exists()


def test_stop_reaches_a_running_kernel_and_the_next_cell_waits(tmp_path, mnist_dir):
    """A real kernel: while fit runs, the Stop click (a comm message) is handled, and a cell sent
    meanwhile (Run All) runs after training, in order."""
    from jupyter_client.manager import start_new_kernel

    manager, client = start_new_kernel(kernel_name="python3", env=dict(os.environ, DIGITLENS_DATA=str(mnist_dir)))
    try:
        code = ("from digitlens import nn\nfrom digitlens.datasets import mnist\nimport digitlens.notebook as dn\n"
                "(x, y), _ = mnist.load_data()\n"
                "model = nn.lesson_model(seed=0)\n"
                "model.compile(optimizer='sgd', loss='sparse_categorical_crossentropy')\n"
                "live = dn.LiveTraining(weights=0)\n"
                "history = model.fit(x, y, epochs=50, batch_size=16, verbose=0, callbacks=[live])\n"
                "print('BATCHES', len(history.batches), live.view.progress['state'])")
        first = client.execute(code)
        comm_id, seen = None, []
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                message = client.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            content = message["content"]
            if message["msg_type"] == "comm_open" and "TrainingView" in json.dumps(content.get("data", {})):
                comm_id = content["comm_id"]
            if comm_id and message["msg_type"] == "comm_msg" and content.get("comm_id") == comm_id:
                state = content["data"].get("state", {}).get("progress", {})
                if state.get("done", 0) > 100:
                    break
        assert comm_id, "no LiveTraining view was opened"
        second = client.execute("print('SECOND CELL')")        # queued behind the training cell
        client.session.send(client.shell_channel.socket, "comm_msg",
                            {"comm_id": comm_id, "data": {"method": "custom", "content": {"type": "stop"}}})
        order = []
        while len(order) < 2 and time.time() < deadline:
            try:
                message = client.get_iopub_msg(timeout=1)
            except queue.Empty:
                continue
            if message["msg_type"] == "stream":
                order.append((message["parent_header"]["msg_id"], message["content"]["text"]))
        assert [msg_id for msg_id, _ in order] == [first, second]
        batches, state = order[0][1].split()[1:3]
        assert state == "stopped" and int(batches) < 50 * 3750
        assert "SECOND CELL" in order[1][1]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_a_cnns_explanation_has_its_filters_maps_and_pooling_sections(mnist):
    from pathlib import Path

    from digitlens.io import load_model

    _, (x_test, y_test) = mnist
    cnn = load_model(Path(__file__).parent / "fixtures" / "keras_cnn.keras")
    e = display.explain(cnn, x_test[0], label=y_test[0], x=x_test[:300], y=y_test[:300])
    assert e.sections[:6] == ["network", "flatten", "parameters", "filters", "feature-maps", "pooling"]
    page = e._repr_html_()
    for name in ("filters", "feature-maps", "pooling", "receptive-field"):
        assert f'data-section="{name}"' in page, name
    assert ".filters, .feature_maps, .pooling, .receptive_field, .path" in page      # each one works:
    for name in e.sections:
        attribute = name.replace("-", "_")
        assert f'data-section="{name}"' in getattr(e, attribute).html, name
    assert 'data-section="batch-norm"' not in page
    assert ".digitlens-report table.kernel td" in page                 # the CNN tables' style, confined
    assert "conv2d: what each of its 4 filters finds in the image" in e.section("feature-maps").html


def test_the_pad_says_in_one_line_why_it_does_not_draw_a_cnn():
    # The pad's flatten strip and neuron grids are of pixels feeding a Dense layer; a CNN's feature
    # maps as you draw live in the web app, and the refusal says so rather than "not 28 x 28".
    from conftest import FIXTURES
    from digitlens.errors import DigitlensError
    from digitlens.io import load_model

    with pytest.raises(DigitlensError) as refused:
        DrawPad(load_model(FIXTURES / "keras_cnn.keras"))
    message = str(refused.value)
    assert "\n" not in message and "digitlens serve MODEL" in message and "conv2d (Conv2D)" in message
    assert "28 x 28 images" not in message
