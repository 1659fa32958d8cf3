"""The `digitlens` command through its real entry point: output for people and scripts, and a
clear one-line error with exit code 2 for every kind of bad input, with nothing left behind."""

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def digitlens(*args, env=None, cwd=None):
    result = subprocess.run([sys.executable, "-m", "digitlens", *map(str, args)], capture_output=True,
                            text=True, env=env, cwd=cwd, timeout=600)
    return result


def assert_one_line_error(result, *fragments):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def env(clean_home):
    env = dict(os.environ)
    for name in ("HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "KERAS_HOME"):
        env[name] = str(clean_home / name.lower())
    env.pop("DIGITLENS_DATA", None)
    env["DIGITLENS_MNIST_MIRRORS"] = "http://127.0.0.1:9/"      # no network in tests
    return env


@pytest.fixture(scope="module")
def trained(tmp_path_factory, mnist_dir):
    """A model trained by `digitlens train --json` for one epoch on real MNIST."""
    folder = tmp_path_factory.mktemp("trained")
    env = dict(os.environ, XDG_STATE_HOME=str(folder / "state"))
    result = digitlens("train", "--epochs", "1", "--seed", "3", "--data", mnist_dir, "--json",
                       "--out", folder / "model.keras", env=env)
    assert result.returncode == 0, result.stderr
    return folder / "model.keras", json.loads(result.stdout), env


@pytest.mark.parametrize("command", ["", "data", "train", "summary", "evaluate", "predict", "explain",
                                     "diagram", "export", "serve"])
def test_help_reads_well(command):
    result = digitlens(*([command] if command else []), "--help")
    assert result.returncode == 0
    assert "usage: digitlens" in result.stdout
    assert len(result.stdout.splitlines()) > 4


def test_data_describes_mnist(mnist_dir, env):
    result = digitlens("data", "--data", mnist_dir, "--json", env=env)
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["shapes"] == {"x_train": [60000, 28, 28], "y_train": [60000], "x_test": [10000, 28, 28],
                               "y_test": [10000]}
    assert facts["train_counts"] == TRAIN_COUNTS and facts["test_counts"] == TEST_COUNTS
    assert (facts["pixel_min"], facts["pixel_max"]) == (0, 255)
    assert facts["pixel_mean"] == pytest.approx(33.3184, abs=1e-3)
    assert facts["verified"] is True
    human = digitlens("data", "--data", mnist_dir, env=env)
    assert "5,923" in human.stdout and "60,000" in human.stdout


def test_data_from_environment_variable(mnist_dir, env):
    result = digitlens("data", "--json", env=dict(env, DIGITLENS_DATA=str(mnist_dir)))
    assert result.returncode == 0 and json.loads(result.stdout)["source"] == str(mnist_dir)


def damaged_copy(mnist_dir, tmp_path, name, damage):
    folder = tmp_path / "data"
    folder.mkdir()
    for file in mnist_dir.glob("*.gz"):
        shutil.copy(file, folder / file.name)
    target = folder / (name + ".gz")
    damage(target)
    return folder


def truncate(path):
    path.write_bytes(path.read_bytes()[:1000])


def wrong_magic(path):
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[2:4] = b"\x08\x02"
    path.write_bytes(gzip.compress(bytes(raw)))


def wrong_dims(path):
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[8:12] = (27).to_bytes(4, "big")
    path.write_bytes(gzip.compress(bytes(raw)))


def fewer_labels(path):
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[4:8] = (59999).to_bytes(4, "big")
    path.write_bytes(gzip.compress(bytes(raw[:-1])))


def label_ten(path):
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[8] = 10
    path.write_bytes(gzip.compress(bytes(raw)))


def not_gzip(path):
    path.write_bytes(b"this is not gzip data at all" * 10)


@pytest.mark.parametrize("name, damage, fragment", [
    ("train-images-idx3-ubyte", truncate, "train-images-idx3-ubyte.gz"),
    ("train-images-idx3-ubyte", not_gzip, "train-images-idx3-ubyte.gz"),
    ("t10k-images-idx3-ubyte", wrong_magic, "magic"),
    ("train-images-idx3-ubyte", wrong_dims, "27"),
    ("train-labels-idx1-ubyte", fewer_labels, "found 59,999"),
    ("t10k-labels-idx1-ubyte", label_ten, "10"),
])
def test_damaged_data_gives_one_clear_line(mnist_dir, tmp_path, env, name, damage, fragment):
    folder = damaged_copy(mnist_dir, tmp_path, name, damage)
    result = digitlens("data", "--data", folder, env=env)
    assert_one_line_error(result, fragment)
    assert not list((tmp_path / "xdg_cache_home").rglob("*")) if (tmp_path / "xdg_cache_home").exists() else True


def test_missing_data_directory(tmp_path, env):
    result = digitlens("data", "--data", tmp_path / "nowhere", env=env)
    assert_one_line_error(result, "nowhere")


def test_no_network_says_where_to_put_the_files(env, clean_home):
    result = digitlens("data", env=env)
    assert_one_line_error(result, "--data")
    cache = clean_home / "xdg_cache_home"
    assert not [p for p in cache.rglob("*") if p.is_file()]          # no partial download left


def test_train_json_and_saved_model(trained):
    path, report, _ = trained
    assert path.is_file()
    assert report["model"] == str(path)
    assert 0.95 < report["test_accuracy"] <= 1.0
    assert report["train_seconds"] > 0
    (epoch,) = report["epochs"]
    assert set(epoch) >= {"epoch", "seconds", "loss", "accuracy", "val_accuracy"}
    assert epoch["val_accuracy"] == pytest.approx(report["test_accuracy"], abs=1e-9)


def test_summary_evaluate_predict_on_a_trained_model(trained, mnist_dir, tmp_path, mnist):
    path, report, env = trained
    summary = digitlens("summary", path, "--json", env=env)
    assert summary.returncode == 0, summary.stderr
    assert [row["params"] for row in json.loads(summary.stdout)["layers"]] == [0, 200_960, 2_570]
    evaluation = json.loads(digitlens("evaluate", "--data", mnist_dir, "--json", env=env).stdout)  # last model
    assert evaluation["test_accuracy"] == pytest.approx(report["test_accuracy"], abs=1e-6)
    assert [row["count"] for row in evaluation["per_class"]] == TEST_COUNTS

    (_, _), (x_test, y_test) = mnist
    np.save(tmp_path / "digit.npy", x_test[0])
    big = Image.fromarray(255 - np.kron(x_test[1], np.ones((10, 10), np.uint8)))   # 280x280, dark ink on white
    big.save(tmp_path / "digit.png")
    result = digitlens("predict", path, tmp_path / "digit.npy", tmp_path / "digit.png", "--json", env=env)
    assert result.returncode == 0, result.stderr
    predictions = json.loads(result.stdout)["predictions"]
    assert [p["digit"] for p in predictions] == [int(y_test[0]), int(y_test[1])]
    assert sum(predictions[0]["probabilities"]) == pytest.approx(1.0, abs=1e-4)


def test_explain_titles_the_report_with_the_file_name(trained, mnist_dir, tmp_path):
    path, _, env = trained
    out = tmp_path / "report.html"
    result = digitlens("explain", path, "--index", "3", "--data", mnist_dir, "--out", out, env=env)
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    title = text.split("<h1>", 1)[1].split("</h1>", 1)[0]
    assert title == f"digitlens: inside {path.name}" and str(path.parent) not in text.split("<main>")[0] + title


def test_summary_without_a_model_shows_the_lesson(env):
    result = digitlens("summary", env=env)
    assert result.returncode == 0
    assert "Total params: 203,530 (795.04 KB)" in result.stdout
    assert "784 inputs x 256 units = 200,704 weights + 256 biases = 200,960" in result.stdout


def test_bad_options_and_files(tmp_path, env, trained):
    path, _, _ = trained
    assert_one_line_error(digitlens("train", "--epochs", "zero", env=env), "--epochs")
    assert_one_line_error(digitlens("train", "--hidden", "256:swish", env=env), "--hidden")
    assert_one_line_error(digitlens("train", "--out", tmp_path / "model.txt", env=env), "--out")
    assert_one_line_error(digitlens("evaluate", env=env), "digitlens train")
    assert_one_line_error(digitlens("summary", tmp_path / "missing.keras", env=env), "missing.keras")
    text = tmp_path / "notes.txt"
    text.write_text("not an image")
    assert_one_line_error(digitlens("predict", path, text, env=env), "notes.txt")
    fake = tmp_path / "fake.keras"
    fake.write_text("not a zip")
    assert_one_line_error(digitlens("summary", fake, env=env), "fake.keras")
    assert_one_line_error(digitlens("export", path, tmp_path / "out.txt", env=env), "out.txt")
    assert_one_line_error(digitlens("train", "--seed", "-5", env=env), "--seed")
    # Where the result would go is checked before any training or drawing is done.
    assert_one_line_error(digitlens("train", "--out", tmp_path / "missing" / "m.keras", env=env), "missing")
    assert_one_line_error(digitlens("explain", path, "--out", tmp_path / "report.txt", env=env), "report.txt")
    assert_one_line_error(digitlens("explain", path, "--label", "3", env=env), "--label")
    assert_one_line_error(digitlens("summary", path, "--hidden", "128:relu", env=env), "--hidden")
    assert_one_line_error(digitlens("predict", path, tmp_path, env=env), "directory")
    np.save(tmp_path / "blank.npy", np.zeros((28, 28), np.uint8))
    assert_one_line_error(digitlens("predict", path, tmp_path / "blank.npy", env=env), "blank.npy", "blank")


def test_models_that_do_not_fit_the_data_and_bad_picture_names(tmp_path, env, mnist_dir):
    from digitlens import io, recipes

    five = recipes.build_model(classes=5, seed=0).build()
    io.save_model(five, tmp_path / "five.keras")
    assert_one_line_error(digitlens("evaluate", tmp_path / "five.keras", "--data", mnist_dir, env=env),
                          "5 outputs", "10 classes")
    assert_one_line_error(digitlens("diagram", "--out", tmp_path / "net.pdf", env=env), "net.pdf", ".svg or .png")
    assert not (tmp_path / "net.pdf").exists()


def test_predict_reads_every_file_it_can(trained, tmp_path, mnist):
    # `predict M good.png blank.png notes.txt`: the good one is predicted, each bad one gets its own
    # line naming it, and the exit code says something failed - for people and for --json alike.
    path, _, env = trained
    _, (x_test, y_test) = mnist
    Image.fromarray(255 - np.kron(x_test[1], np.ones((10, 10), np.uint8))).save(tmp_path / "good.png")
    Image.new("L", (200, 200), 255).save(tmp_path / "blank.png")
    (tmp_path / "notes.txt").write_text("not an image")
    files = [tmp_path / "good.png", tmp_path / "blank.png", tmp_path / "notes.txt"]
    result = digitlens("predict", path, *files, env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"good.png: {int(y_test[1])}" in result.stdout and "sure" in result.stdout
    errors = result.stderr.strip().splitlines()
    assert len(errors) == 2 and "blank.png: no ink found" in errors[0] and "notes.txt: not an image" in errors[1]
    as_json = digitlens("predict", path, *files, "--json", env=env)
    assert as_json.returncode == 2 and len(as_json.stderr.strip().splitlines()) == 2
    report = json.loads(as_json.stdout)
    assert [p["file"] for p in report["predictions"]] == [str(files[0])]
    assert report["predictions"][0]["digit"] == int(y_test[1]) and report["predictions"][0]["doubt"] is None
    assert [e["file"] for e in report["errors"]] == [str(files[1]), str(files[2])]
    assert digitlens("predict", path, files[0], env=env).returncode == 0


def test_predict_and_explain_say_when_it_does_not_look_like_one_digit(trained, tmp_path, mnist_dir):
    path, _, env = trained
    line = Image.new("L", (300, 200), 230)
    ImageDraw.Draw(line).line([(40, 100), (260, 100)], fill=20, width=10)
    name = tmp_path / "[line].png"               # brackets: printed as they are, not as markup
    line.save(name)
    result = digitlens("predict", path, name, env=env)
    assert result.returncode == 0, result.stderr
    assert "[line].png:" in result.stdout and "this does not look like one digit: it is one straight line" in result.stdout
    doubt = json.loads(digitlens("predict", path, name, "--json", env=env).stdout)["predictions"][0]["doubt"]
    assert doubt.startswith("this does not look like one digit")
    report = tmp_path / "report.html"
    explained = digitlens("explain", path, name, "--data", mnist_dir, "--out", report, "--json", env=env)
    assert explained.returncode == 0, explained.stderr
    assert json.loads(explained.stdout)["doubt"] == doubt
    assert "This does not look like one digit: it is one straight line" in report.read_text()


def test_the_next_commands_after_training_run_as_shown(tmp_path, mnist_dir, env):
    # `./dev train` runs .venv/bin/digitlens, which is not on PATH: the hints must still work.
    script = Path(sys.executable).parent / "digitlens"
    env = dict(env, DIGITLENS_DATA=str(mnist_dir), PATH="/usr/bin:/bin")
    result = subprocess.run([str(script), "train", "--epochs", "1", "--quiet", "--out", "first.keras"], cwd=tmp_path,
                            capture_output=True, text=True, env=env, timeout=600)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    hints = [line.strip() for line in lines[lines.index("next:") + 1:] if not line.strip().startswith("(")]
    assert [hint.split()[1] for hint in hints] == ["evaluate", "explain", "serve"]
    assert all(not hint.startswith("digitlens ") for hint in hints)   # digitlens is not on this PATH
    evaluate = subprocess.run(["bash", "-c", hints[0] + " --json"], cwd=tmp_path, capture_output=True, text=True,
                              env=env, timeout=600)
    assert evaluate.returncode == 0, evaluate.stderr
    assert json.loads(evaluate.stdout)["test_accuracy"] > 0.9
    serve_help = subprocess.run(["bash", "-c", hints[2] + " --help"], cwd=tmp_path, capture_output=True, text=True,
                                env=env, timeout=600)
    assert serve_help.returncode == 0 and "web app" in serve_help.stdout
    on_path = subprocess.run([str(script), "train", "--epochs", "1", "--quiet", "--out", "again.keras"], cwd=tmp_path,
                             capture_output=True, text=True, env=dict(env, PATH=f"{script.parent}:/usr/bin:/bin"),
                             timeout=600)
    assert "  digitlens evaluate again.keras" in on_path.stdout   # once it is on PATH, the short form
# ---- convolutional networks ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def trained_cnn(tmp_path_factory, mnist_dir):
    """The course's CNN trained by `digitlens train --arch cnn --json` for one epoch on real MNIST."""
    folder = tmp_path_factory.mktemp("cnn")
    env = dict(os.environ, XDG_STATE_HOME=str(folder / "state"))
    result = digitlens("train", "--arch", "cnn", "--epochs", "1", "--seed", "3", "--data", mnist_dir, "--json",
                       "--out", folder / "cnn.keras", env=env)
    assert result.returncode == 0, result.stderr
    return folder / "cnn.keras", json.loads(result.stdout), env


def test_train_arch_cnn_reads_digits_better_after_one_epoch(trained_cnn):
    path, report, _ = trained_cnn
    assert (report["arch"], report["params"]) == ("cnn", 693_962)
    assert report["test_accuracy"] >= 0.975                   # the lesson's network gets about 96% here


def test_every_command_takes_a_cnn_or_says_in_one_line_why_not(trained_cnn, mnist_dir, mnist, tmp_path):
    path, report, env = trained_cnn
    summary = digitlens("summary", path, "--json", env=env)
    assert summary.returncode == 0, summary.stderr
    facts = json.loads(summary.stdout)
    assert [row["params"] for row in facts["layers"]] == [320, 0, 0, 692_352, 1_290]
    assert facts["total_params"] == 693_962 and facts["optimizer_params"] == 2 * 693_962 + 2
    text = digitlens("summary", path, env=env).stdout
    assert "3 x 3 kernel x 1 channel x 32 filters = 288 weights + 32 biases = 320" in text
    evaluation = json.loads(digitlens("evaluate", path, "--data", mnist_dir, "--json", env=env).stdout)
    assert evaluation["test_accuracy"] == pytest.approx(report["test_accuracy"], abs=1e-6)

    (_, _), (x_test, y_test) = mnist
    np.save(tmp_path / "digit.npy", x_test[0])
    predicted = digitlens("predict", path, tmp_path / "digit.npy", "--json", env=env)
    assert json.loads(predicted.stdout)["predictions"][0]["digit"] == int(y_test[0])
    for suffix in (".onnx", ".h5"):
        exported = digitlens("export", path, tmp_path / f"cnn{suffix}", env=env)
        assert exported.returncode == 0, exported.stderr
    assert json.loads(digitlens("summary", tmp_path / "cnn.h5", "--json", env=env).stdout)["total_params"] == 693_962

    explained = digitlens("explain", path, "--index", "0", "--data", mnist_dir, "--out", tmp_path / "r.html", "--json",
                          env=env)
    assert explained.returncode == 0, explained.stderr
    assert json.loads(explained.stdout)["sections"][2:7] == ["parameters", "filters", "feature-maps", "pooling",
                                                             "receptive-field"]
    page = (tmp_path / "r.html").read_text()
    assert "conv2d (Conv2D) slides 32 filters of 3 x 3 x 1 channel" in page      # a note, not a wrong picture
    assert "Test accuracy" in page and 'id="evaluation"' in page
    for section in ("filters", "feature-maps", "pooling", "receptive-field"):        # what a CNN has
        assert f'id="{section}"' in page, section
    assert 'id="batch-norm"' not in page and "conv2d: what each of its 32 filters finds in the image" in page
    # The diagram draws it as its layers in a row (viz/stack_diagram.py).
    drawn = digitlens("diagram", path, "--out", tmp_path / "n.svg", env=env)
    assert drawn.returncode == 0, drawn.stderr
    assert "max_pooling2d" in (tmp_path / "n.svg").read_text() and "692,352 parameters" in (tmp_path / "n.svg").read_text()
    # The web app serves it: its Draw tab shows the feature maps (tests/test_web_cnn.py has the rest)
    status = serve_briefly(path, mnist_dir, env)
    assert status["model"]["origin"] == "loaded from cnn.keras"
    assert [layer["maps"] for layer in status["model"]["layers"]] == ["feature maps", "pooled maps", None, None, None]


def serve_briefly(path, mnist_dir, env):
    """Start `digitlens serve MODEL` on a free port, return its /api/status, stop it."""
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "digitlens", "serve", str(path), "--port", str(port),
                                "--data", str(mnist_dir)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    try:
        deadline = time.time() + 120
        while True:
            try:
                return json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=1).read())
            except OSError:
                if process.poll() is not None or time.time() > deadline:
                    process.kill()
                    pytest.fail(f"digitlens serve did not answer:\n{process.stdout.read()}")
                time.sleep(0.2)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_a_learners_cnn_saved_by_real_keras_opens(mnist_dir, env, expected, tmp_path):
    from conftest import FIXTURES

    path = FIXTURES / "keras_cnn.keras"
    summary = digitlens("summary", path, env=env)
    assert summary.returncode == 0, summary.stderr
    assert "conv2d (Conv2D)                 │ (None, 26, 26, 4)" in summary.stdout
    evaluation = digitlens("evaluate", path, "--data", mnist_dir, "--json", env=env)
    assert evaluation.returncode == 0, evaluation.stderr
    assert 0.5 < json.loads(evaluation.stdout)["test_accuracy"] < 1.0    # 63 Adam steps of a small CNN
    np.save(tmp_path / "digit.npy", expected["x_uint8"][3])
    predicted = digitlens("predict", path, tmp_path / "digit.npy", "--json", env=env)
    assert predicted.returncode == 0, predicted.stderr
    probabilities = json.loads(predicted.stdout)["predictions"][0]["probabilities"]
    np.testing.assert_allclose(probabilities, expected["probs_keras_cnn"][3], atol=1e-5)   # what Keras said
    # ... and `digitlens explain` shows what is inside: here the one with BatchNormalization, on that digit
    explained = digitlens("explain", FIXTURES / "keras_cnn_bn.keras", tmp_path / "digit.npy", "--data", mnist_dir,
                          "--out", tmp_path / "cnn.html", "--json", env=env)
    assert explained.returncode == 0, explained.stderr
    assert {"filters", "feature-maps", "pooling", "receptive-field", "batch-norm"} <= set(
        json.loads(explained.stdout)["sections"])
    page = (tmp_path / "cnn.html").read_text()
    assert "batch_normalization on a batch of" in page and "conv2d_1: what each of its 8 filters finds" in page


@pytest.mark.parametrize("arch, rows", [
    ("cnn", ["conv2d (Conv2D)", "(None, 26, 26, 32)", "692,352", "Total params: 693,962 (2.65 MB)"]),
    ("conv32x3,pool2,flatten,dense128,dense10", ["max_pooling2d (MaxPooling2D)", "Total params: 693,962"]),
    ("conv16x5s2same:tanh,bn,avgpool2,gap,dropout0.2,dense10",
     ["(None, 14, 14, 16)", "batch_normalization", "(None, 7, 7, 16)", "Non-trainable params: 32 (128.00 B)"]),
    ("reshape784,dense64:tanh,dense10", ["reshape (Reshape)", "(None, 784)", "50,240"]),
    ("lesson", ["Total params: 203,530 (795.04 KB)"]),
])
def test_summary_arch_builds_the_network_from_its_spec(arch, rows, env):
    result = digitlens("summary", "--arch", arch, env=env)
    assert result.returncode == 0, result.stderr
    for row in rows:
        assert row in result.stdout, row


def test_summary_arch_reads_a_keras_json_config(tmp_path, env):
    from digitlens import nn
    from digitlens.io.keras_layers import model_config

    config = model_config(nn.cnn_model().build())             # what Keras's model.to_json() gives
    (tmp_path / "cnn.json").write_text(json.dumps(config))
    result = digitlens("summary", "--arch", tmp_path / "cnn.json", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["total_params"] == 693_962
    (tmp_path / "bad.json").write_text("{oops")
    assert_one_line_error(digitlens("summary", "--arch", tmp_path / "bad.json", env=env), "bad.json", "not a JSON")


@pytest.mark.parametrize("arch, fragments", [
    ("conv32", ["'conv32' is not a layer digitlens knows", "conv32x3"]),
    ("conv32x3,dense10", ["put a Flatten layer first"]),
    ("conv32x3,flatten,dense128", ["end it with dense10"]),
    ("conv32x3:gelu,flatten,dense10", ["unknown activation 'gelu'"]),
    ("conv32x30,flatten,dense10", ["30x30 kernel does not fit in the 28x28 input"]),
    ("conv0x3,flatten,dense10", ["filters: expected a positive integer"]),
    ("", ["expected lesson, cnn"]),
    ("missing.json", ["missing.json: no such file"]),
])
def test_bad_arch_gives_one_line(arch, fragments, env):
    assert_one_line_error(digitlens("summary", "--arch", arch, env=env), "--arch", *fragments)


def test_arch_and_hidden_together_are_refused_before_any_work(env):
    assert_one_line_error(digitlens("train", "--arch", "cnn", "--hidden", "128:relu", env=env), "--arch", "--hidden")
    assert "conv32x3" in digitlens("train", "--help", env=env).stdout
