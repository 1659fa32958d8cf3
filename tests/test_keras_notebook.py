"""The course's own notebook for the fully connected lesson runs on digitlens, cell by cell, with
only its tensorflow imports changed.

NOTEBOOK below holds the code cells of "01 - 00 - MNIST and Fully Connected Neural Network.ipynb"
(github.com/Vadikus/practicalDL), in order, as learners run them: build the model with add() and
with a list, plot it, print its summary before compile, train with a callback that stops at 99.9%,
train again with validation_split=0.25 at batch 16, look at the weights, predict one image. The
test points the imports at digitlens (and nothing else), runs the cells on full MNIST as Jupyter
would (its %magics aside), and checks what each cell gives. One cell draws the model with
Graphviz (model_to_dot), which digitlens refuses by name; it must fail that way and no other.

The default test trains for fewer epochs (the stopping callback's threshold is lowered so that it
still stops training, and the second run has one epoch); the slow one runs the cells unchanged.
"""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

SUMMARIES = json.loads((Path(__file__).resolve().parent / "fixtures" / "keras_summaries.json")
                       .read_text(encoding="utf-8"))

NOTEBOOK = [
    "import tensorflow as tf\nprint(tf.__version__)",
    "from tensorflow.keras.datasets import mnist",
    "#mnist.load_data?",
    "(x_train, y_train), (x_test, y_test) = mnist.load_data()",
    "x_train.shape",
    "x_train[0].shape",
    "%matplotlib inline\nimport matplotlib as mpl",
    "import matplotlib.pyplot as plt",
    "plt.imshow(x_train[0], cmap=plt.cm.gray, interpolation='nearest')",
    "print(y_train[0])",
    "plt.imshow(x_train[0])",
    "import numpy as np\nnp.set_printoptions(edgeitems=30, linewidth=100000)\n\nprint(x_train[0])",
    "x_train, x_test = x_train/255.0, x_test/255.0",
    "from tensorflow.keras import Sequential\nfrom tensorflow.keras.layers import Dense, Flatten\n\n"
    "model = Sequential()\n\n"
    "#model.add(Dense(32, activation='relu', input_shape=(784,))) # <--- if the images are already flattened\n"
    "model.add(Flatten(input_shape=(28, 28)))\nmodel.add(Dense(32, activation='relu'))\n"
    "model.add(Dense(32, activation='relu'))\nmodel.add(Dense(10, activation='softmax'))",
    "# ignoring for now...\nmodel = tf.keras.models.Sequential([\n"
    "    tf.keras.layers.Flatten(input_shape=(28, 28)),\n"
    "    tf.keras.layers.Dense(256, activation=tf.nn.relu),\n"
    "    tf.keras.layers.Dense(10, activation=tf.nn.softmax)\n])",
    "from tensorflow.keras.utils import plot_model\nplot_model(model, to_file='model.png')",
    "from IPython.display import SVG\nfrom tensorflow.keras.utils import model_to_dot\n\n"
    "SVG(model_to_dot(model).create(prog='dot', format='svg'))",
    "print(model.summary())",
    "model.compile(optimizer='adam',\n              loss='sparse_categorical_crossentropy',\n"
    "              metrics=['accuracy'])",
    "class accuracy99Callback(tf.keras.callbacks.Callback):\n"
    "    def on_epoch_end(self, epoch, logs={}):\n"
    "        if (logs.get('accuracy') > 0.999):\n"
    "            print(\"\\n\\nWe reached 99.9% accuracy!\\n\")\n"
    "            self.model.stop_training = True",
    "%%time\n# ~ 2 min\nmodel.fit(x_train, y_train, epochs=40, validation_data=(x_test, y_test), "
    "callbacks=[accuracy99Callback()])",
    "print(model.history.history)",
    "plt.plot(model.history.history['accuracy'], 'r-')\nplt.plot(model.history.history['val_accuracy'], 'g:')",
    "model.evaluate(x_test, y_test)",
    "%%time\n# ~30 seconds\nimport matplotlib.pyplot as plt\n\nmodel = tf.keras.models.Sequential([\n"
    "    tf.keras.layers.Flatten(input_shape=(28, 28)),\n"
    "    tf.keras.layers.Dense(256, activation=tf.nn.relu),\n"
    "    tf.keras.layers.Dense(10, activation=tf.nn.softmax)\n])\n"
    "model.compile(optimizer='adam',\n              loss='sparse_categorical_crossentropy',\n"
    "              metrics=['accuracy'])\n\n"
    "history = model.fit(x_train,\n                    y_train,\n                    validation_split=0.25,\n"
    "                    epochs=5,\n                    batch_size=16,\n                    verbose=1)\n\n"
    "# Plot training & validation accuracy values\nplt.plot(history.history['accuracy'])\n"
    "plt.plot(history.history['val_accuracy'])\nplt.title('Model accuracy')\nplt.ylabel('Accuracy')\n"
    "plt.xlabel('Epoch')\nplt.legend(['Train', 'Test'], loc='upper left')\nplt.show()\n\n"
    "# Plot training & validation loss values\nplt.plot(history.history['loss'])\n"
    "plt.plot(history.history['val_loss'])\nplt.title('Model loss')\nplt.ylabel('Loss')\nplt.xlabel('Epoch')\n"
    "plt.legend(['Train', 'Test'], loc='upper left')\nplt.show()",
    "model.summary()",
    "print(model.weights)",
    "last = model.get_layer(index=-1)",
    "last.weights[1]",
    "inp = x_test[0].reshape((1, 28, 28))\nres = model.predict(inp)",
    "y_test[0]",
    "plt.plot(range(10), res[0])",
    "plt.imshow(x_test[0])",
]
GRAPHVIZ_CELL = 16         # SVG(model_to_dot(model)...): Graphviz, refused by name


def pointed_at_digitlens(cell):
    """The cell with its tensorflow imports changed to digitlens's - and nothing else."""
    cell = cell.replace("import tensorflow as tf", "from digitlens import tf")
    return cell.replace("from tensorflow.keras", "from digitlens.keras")


def as_python(cell):
    """What Jupyter runs: the %magics are IPython's, not Python (time them, plot inline)."""
    return "\n".join("" if line.startswith("%") else line for line in cell.splitlines())


def shortened(cell):
    """Fewer epochs: the stopping callback fires after the first epoch, the second run has one."""
    return cell.replace("> 0.999", "> 0.9").replace("epochs=5", "epochs=1")


def test_only_the_tensorflow_imports_change():
    changed = [(a, b) for cell in NOTEBOOK for a, b in zip(cell.splitlines(), pointed_at_digitlens(cell).splitlines())
               if a != b]
    assert changed == [("import tensorflow as tf", "from digitlens import tf")] + [
        (f"from tensorflow.keras{rest}", f"from digitlens.keras{rest}") for rest in
        (".datasets import mnist", " import Sequential", ".layers import Dense, Flatten", ".utils import plot_model",
         ".utils import model_to_dot")]


class Notebook:
    """Runs cells in one namespace as a Jupyter kernel would: each cell's output, its last
    expression's value, and its error if it raised."""

    def __init__(self):
        self.namespace, self.results = {}, []

    def run(self, index, cell, capsys):
        import ast

        tree = ast.parse(as_python(cell))
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        value = error = None
        try:
            exec(compile(tree, f"cell {index}", "exec"), self.namespace)
            if last is not None:
                value = eval(compile(ast.Expression(last.value), f"cell {index}", "eval"), self.namespace)
        except Exception as e:                    # a cell that fails: recorded, the next ones run
            error = e
        self.results.append({"out": capsys.readouterr().out, "value": value, "error": error,
                             "model": self.namespace.get("model")})


@pytest.fixture
def notebook_kernel(tmp_path, monkeypatch, mnist_dir):
    """A folder to run in, MNIST where the course's mnist.load_data() finds it, no screen for
    matplotlib, and a record of what the cells hand to IPython's display (Image, SVG)."""
    from IPython import display

    monkeypatch.setenv("DIGITLENS_DATA", str(mnist_dir))
    monkeypatch.chdir(tmp_path)
    import matplotlib
    matplotlib.use("Agg")
    shown = []
    for kind in ("Image", "SVG"):
        real = getattr(display, kind)
        monkeypatch.setattr(display, kind, lambda *a, real=real, kind=kind, **kw: shown.append(
            (kind, kw.get("filename"))) or real(*a, **kw))
    options = np.get_printoptions()
    yield Notebook(), shown
    np.set_printoptions(**options)               # the notebook widens NumPy's printing
    import matplotlib.pyplot as plt
    plt.close("all")


def run_notebook(kernel, capsys, change=lambda cell: cell):
    notebook, shown = kernel
    for index, cell in enumerate(NOTEBOOK):
        notebook.run(index, change(pointed_at_digitlens(cell)), capsys)
    return notebook.results, notebook.namespace, shown


def check_the_lesson(results, namespace, shown, tmp_path, stop_at):
    failed = {i: r["error"] for i, r in enumerate(results) if r["error"] is not None}
    assert list(failed) == [GRAPHVIZ_CELL], {i: repr(e) for i, e in failed.items()}
    assert isinstance(failed[GRAPHVIZ_CELL], NotImplementedError)
    assert "model_to_dot builds a Graphviz graph" in str(failed[GRAPHVIZ_CELL])

    cell = dict(enumerate(results)).get
    assert cell(4)["value"] == (60000, 28, 28) and cell(5)["value"] == (28, 28) and cell(9)["out"] == "5\n"
    # The model built with add(), before the next cell replaces it.
    added = results[13]["model"]
    assert [layer.name for layer in added.layers] == ["flatten", "dense", "dense_1", "dense_2"]
    assert added.built and added.count_params() == 784 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10
    # The plot: digitlens's drawing, a real PNG, handed to the notebook to show.
    assert shown == [("Image", "model.png")] and (tmp_path / "model.png").read_bytes()[:4] == b"\x89PNG"
    # print(model.summary()) before compile: Keras's table, then the None summary() returns.
    assert cell(17)["out"] == SUMMARIES["lesson"]["summary"] + "None\n"

    # The first fit: validated on the test set every epoch, stopped by the callback.
    fit_out = cell(20)["out"]
    history = namespace["history"]             # of the second fit, checked below
    first = results[20]["value"]
    epochs = len(first.epoch)
    assert first.history.keys() == {"accuracy", "loss", "val_accuracy", "val_loss"}
    assert epochs < 40 and "We reached 99.9% accuracy!" in fit_out
    assert first.history["accuracy"][-1] > stop_at >= max(first.history["accuracy"][:-1], default=0)
    assert re.search(rf"^Epoch {epochs}/40$", fit_out, re.M)
    assert re.search(r"^1875/1875 ━{20} \d+s \d+(us|ms)/step - accuracy: 0\.\d{4} - loss: \d\.\d{4} - "
                     r"val_accuracy: 0\.\d{4} - val_loss: \d\.\d{4}$", fit_out, re.M), fit_out
    assert cell(21)["out"] == f"{first.history}\n"
    loss, accuracy = cell(23)["value"]
    assert accuracy == first.history["val_accuracy"][-1] and loss == pytest.approx(first.history["val_loss"][-1])
    assert accuracy > 0.95

    # The second fit: the last quarter held out (45,000 images train), batch 16.
    assert history.params["steps"] == math.ceil(45000 / 16) == 2813
    assert re.search(r"^2813/2813 ━{20} \d+s \d+(us|ms)/step - accuracy: 0\.\d{4} - loss: \d\.\d{4} - "
                     r"val_accuracy: 0\.\d{4} - val_loss: \d\.\d{4}$", cell(24)["out"], re.M)
    assert history.history["val_accuracy"][-1] > 0.95
    assert cell(25)["out"] == SUMMARIES["lesson_trained"]["summary"]

    # The weights, the last layer's bias, one image's prediction.
    model = namespace["model"]
    assert [w.shape for w in model.weights] == [(784, 256), (256,), (256, 10), (10,)]
    assert "<Variable path=sequential/dense/kernel, shape=(784, 256), dtype=float32, value=" in cell(26)["out"]
    bias = cell(28)["value"]
    assert bias.path == "sequential/dense_1/bias" and np.array_equal(bias, model.weights[3])
    res = namespace["res"]
    assert res.shape == (1, 10) and res[0].sum() == pytest.approx(1.0, abs=1e-5)
    assert int(res[0].argmax()) == int(cell(30)["value"]) == 7
    assert re.fullmatch(r"1/1 ━{20} \d+s \d+(us|ms)/step\n", cell(29)["out"])


@pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`:UserWarning")   # Keras warns too
def test_the_course_notebook_runs(notebook_kernel, capsys, tmp_path):
    results, namespace, shown = run_notebook(notebook_kernel, capsys, shortened)
    check_the_lesson(results, namespace, shown, tmp_path, stop_at=0.9)
    assert namespace["history"].epoch == [0]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Do not pass an `input_shape`:UserWarning")   # Keras warns too
def test_the_course_notebook_runs_unchanged(notebook_kernel, capsys, tmp_path):
    results, namespace, shown = run_notebook(notebook_kernel, capsys)
    check_the_lesson(results, namespace, shown, tmp_path, stop_at=0.999)
    assert namespace["history"].epoch == [0, 1, 2, 3, 4]
