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
