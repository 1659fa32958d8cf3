"""Learning as it happens, and two models side by side: the training timeline against a re-run of
the same seeded training, its size and file round trip (real Keras still loads the file), the
comparison against each model's own evaluate, the maps against NumPy's SVD, a confusion cell
against a plain count, and the `timeline` / `compare` commands through the real CLI."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO

from digitlens import recipes
from digitlens.errors import DigitlensError
from digitlens.explain.compare import compare
from digitlens.explain.evaluation import evaluate
from digitlens.explain.hidden_space import hidden_activations, hidden_map, pca, project
from digitlens.explain.evaluation import confusion_cell
from digitlens.explain.timeline import Timeline, choose_probes
from digitlens.io import load_model, save_model
from digitlens.nn.callbacks import Callback
from digitlens.nn.timeline import MAX_SNAPSHOTS, log_spaced_steps

ARTIFACTS = REPO / "artifacts"


class StopAt(Callback):
    """Stops training right after global step `step`, keeping a copy of the weights then."""

    def __init__(self, step):
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if self.model.optimizer.iterations == self.step:
            self.weights = self.model.params.copy()
            self.model.stop_training = True


def quick_run(x, y, callbacks, seed=4, epochs=1, hidden=((32, "relu"),)):
    model = recipes.build_model(hidden, seed=seed)
    recipes.train(model, x, y, recipes.get_recipe("lesson", epochs=epochs), callbacks=callbacks)
    return model


@pytest.fixture(scope="module")
def recorded(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    probes = choose_probes(x_test, y_test)
    model = quick_run(x_train[:6400], y_train[:6400], [Timeline(probes=probes)], epochs=2)
    return model, probes


def test_log_spaced_steps():
    assert log_spaced_steps(1000) == [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    assert log_spaced_steps(7) == [0, 1, 2, 5]


def test_probes_are_one_of_each_digit_then_the_least_typical(mnist):
    _, (x_test, y_test) = mnist
    indices, images, labels = choose_probes(x_test, y_test, hard=5)
    assert list(labels[:10]) == list(range(10)) and len(indices) == 15
    assert [int(np.flatnonzero(y_test == k)[0]) for k in range(10)] == indices[:10]
    np.testing.assert_array_equal(images, x_test[indices])
    # the hard ones are further from their digit's mean image than any typical first image is
    flat = x_test.reshape(len(x_test), -1).astype(np.float32)
    distance = [np.linalg.norm(flat[i] - flat[y_test == y_test[i]].mean(axis=0)) for i in indices]
    assert min(distance[10:]) > max(distance[:10])


def test_each_snapshot_equals_the_weights_of_a_rerun_stopped_at_that_step(recorded, mnist):
    (x_train, y_train), _ = mnist
    model, probes = recorded
    timeline = model.timeline
    assert timeline.steps[:8] == [0, 1, 2, 5, 10, 20, 50, 100] and timeline.steps[-1] == 400
    assert 200 in timeline.steps and timeline.epochs[timeline.steps.index(200)] == 1.0  # an epoch's end
    for step in (1, 5, 50, 200):
        stopper = StopAt(step)
        twin = quick_run(x_train[:6400], y_train[:6400], [stopper], epochs=2)
        k = timeline.steps.index(step)
        twin.params[...] = stopper.weights
        kernel = twin.layers[1].kernel                           # (784, 32)
        expected = kernel.T[timeline.neurons].reshape(-1, 28, 28)
        recorded_weights = timeline.weights[k]
        quantum = np.abs(expected).max() / 127                   # int8 with one scale per snapshot
        np.testing.assert_allclose(recorded_weights, expected, atol=quantum / 2 + 1e-7)
        np.testing.assert_allclose(timeline.probabilities[k], twin.predict(probes[1]), atol=1e-5)


def test_the_timeline_rides_in_the_file_and_keras_still_loads_it(recorded, tmp_path, keras):
    model, _ = recorded
    path = tmp_path / "with-timeline.keras"
    save_model(model, path)
    again = load_model(path)
    assert again.timeline.steps == model.timeline.steps
    np.testing.assert_array_equal(again.timeline.weights, model.timeline.weights)
    np.testing.assert_array_equal(again.timeline.probabilities, model.timeline.probabilities)
    real = keras.models.load_model(path)
    x = np.random.default_rng(0).random((4, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(np.asarray(real.predict(x, verbose=0)), model.predict(x), atol=1e-5)


def test_a_damaged_timeline_is_left_off_with_a_warning(recorded, tmp_path):
    import zipfile

    model, _ = recorded
    path = tmp_path / "m.keras"
    save_model(model, path)
    with zipfile.ZipFile(path) as archive:
        entries = {n: archive.read(n) for n in archive.namelist()}
    extras = json.loads(entries["digitlens.json"])
    extras["timeline"]["weights"][0]["shape"] = [10 ** 6, 784, 784]
    entries["digitlens.json"] = json.dumps(extras).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    with pytest.warns(UserWarning, match="timeline"):
        again = load_model(path)
    assert again.timeline is None and again.history is not None


def test_size_bound_and_recording_cost_for_the_lessons_model(mnist):
    """The lesson's model, one epoch of the lesson's recipe: the timeline's size stays well under
    2 MB; what recording costs is measured and written down (not asserted: timings are noisy)."""
    (x_train, y_train), (x_test, y_test) = mnist
    recorder = Timeline(probes=choose_probes(x_test, y_test))
    model = recipes.build_model(seed=1)
    history = recipes.train(model, x_train[:30000], y_train[:30000], recipes.get_recipe("lesson", epochs=1),
                            callbacks=[recorder])
    timeline = model.timeline
    assert timeline.steps == log_spaced_steps(938) + [938]            # and the epoch's end
    assert timeline.nbytes() < 1_000_000
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "timeline-cost.json").write_text(json.dumps({
        "snapshots": len(timeline), "bytes": timeline.nbytes(),
        "epoch_seconds": history.seconds[0], "recording_seconds": recorder.seconds,
        "recording_share": recorder.seconds / history.seconds[0], "load": os.getloadavg()[0]}, indent=2))


def test_a_long_run_keeps_at_most_the_bound_spread_from_start_to_end(mnist):
    (x_train, y_train), _ = mnist
    model = quick_run(x_train[:640], y_train[:640], [Timeline(neurons=8)], epochs=60)
    timeline = model.timeline
    assert len(timeline) == MAX_SNAPSHOTS
    assert timeline.steps[0] == 0 and timeline.steps[-1] == 60 * 20
    assert timeline.steps == sorted(set(timeline.steps))
    assert len(timeline.neurons) == 8


def test_compare_agrees_with_each_models_own_evaluate(recorded, small_trained_model, mnist):
    _, (x_test, y_test) = mnist
    a, b = small_trained_model, recorded[0]
    result = compare(a, b, x_test[:3000], y_test[:3000], names=("big", "small"))
    for k, model in enumerate((a, b)):
        own = evaluate(model, x_test[:3000], y_test[:3000])
        assert result["accuracy"][k] == own["accuracy"] and result["confusion"][k] == own["confusion"]
    pa, pb = a.predict(x_test[:3000]).argmax(1), b.predict(x_test[:3000]).argmax(1)
    truth = y_test[:3000]
    assert result["agreement"] == pytest.approx(np.mean(pa == pb))
    assert result["only_a_count"] == int(np.sum((pa == truth) & (pb != truth)))
    assert result["both_wrong"] == int(np.sum((pa != truth) & (pb != truth)))
    assert all(pa[g["index"]] == truth[g["index"]] != pb[g["index"]] for g in result["only_a"])
    assert np.array_equal(np.asarray(result["confusion_difference"]),
                          np.asarray(result["confusion"][0]) - np.asarray(result["confusion"][1]))
    with pytest.raises(DigitlensError, match="outputs"):
        compare(a, recipes.build_model(classes=3).build(), x_test[:10], y_test[:10] % 3)
    # the same digits moved two pixels: each model's own predictions on images moved by hand
    left = next(row for row in result["shifted"] if row["shift"] == "2 pixels left")
    moved = np.zeros_like(x_test[:3000])
    moved[:, :, :-2] = x_test[:3000, :, 2:]
    for k, (model, before) in enumerate(((a, pa), (b, pb))):
        after = model.predict(moved).argmax(1)
        assert left["accuracy"][k] == pytest.approx(np.mean(after == truth))
        assert left["changed"][k] == pytest.approx(np.mean(after != before))
    assert [row["shift"] for row in result["shifted"]] == ["2 pixels left", "2 pixels right", "2 pixels up",
                                                           "2 pixels down"]


def test_a_whole_pixel_shift_moves_the_digit_and_fills_with_background():
    from digitlens.datasets.augment import shift

    x = np.arange(1, 17, dtype=np.uint8).reshape(1, 4, 4)
    np.testing.assert_array_equal(shift(x, 0, -1)[0], [[2, 3, 4, 0], [6, 7, 8, 0], [10, 11, 12, 0], [14, 15, 16, 0]])
    np.testing.assert_array_equal(shift(x, 1, 0)[0], [[0, 0, 0, 0], [1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]])
    np.testing.assert_array_equal(shift(x, 0, 0), x)
    assert not shift(x, 0, 9).any() and shift(x, -2, 3).dtype == np.uint8


def test_maps_are_numpys_svd(small_trained_model, mnist):
    _, (x_test, y_test) = mnist
    maps = hidden_map(small_trained_model, x_test[:500], y_test[:500])
    activations = hidden_activations(small_trained_model, x_test[:500]).astype(np.float64)
    centred = activations - activations.mean(axis=0)
    u, s, vt = np.linalg.svd(centred, full_matrices=False)
    expected = u[:, :2] * s[:2]                                   # the same points, up to each axis's sign
    for axis in range(2):
        got = maps["hidden"]["points"][:, axis]
        assert min(np.abs(got - expected[:, axis]).max(), np.abs(got + expected[:, axis]).max()) < 1e-6
    assert maps["hidden"]["explained"][0] == pytest.approx(s[0] ** 2 / np.sum(s ** 2))
    # a new image lands where the same image lands when it is part of the map
    np.testing.assert_allclose(project(maps["hidden"], activations[:3]), maps["hidden"]["points"][:3], atol=1e-6)
    pixels = pca(x_test[:500].reshape(500, -1) / 255.0)
    np.testing.assert_allclose(np.abs(pixels["points"]), np.abs(maps["pixels"]["points"]), atol=1e-5)


def test_a_confusion_cell_holds_exactly_those_images(small_trained_model, mnist):
    _, (x_test, y_test) = mnist
    probs = small_trained_model.predict(x_test)
    guesses = probs.argmax(1)
    for label, predicted in ((4, 9), (7, 7)):
        cell = confusion_cell(probs, y_test, label, predicted, count=1000)
        members = np.flatnonzero((y_test == label) & (guesses == predicted))
        assert cell["total"] == len(members) and sorted(i["index"] for i in cell["shown"]) == list(members)
        confidence = [i["confidence"] for i in cell["shown"]]
        assert confidence == sorted(confidence, reverse=label != predicted)


def digitlens(*args, env=None):
    return subprocess.run([sys.executable, "-m", "digitlens", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=600)


def test_train_records_and_timeline_and_compare_commands_work(tmp_path, mnist_dir, clean_home):
    from PIL import Image

    env = dict(os.environ, DIGITLENS_DATA=str(mnist_dir), XDG_STATE_HOME=str(clean_home / "state"))
    for name, hidden in (("a", "64:relu"), ("b", "16:sigmoid")):
        result = digitlens("train", "--epochs", "1", "--hidden", hidden, "--quiet", "--seed", "2",
                           "--out", tmp_path / f"{name}.keras", env=env)
        assert result.returncode == 0, result.stderr
    film = tmp_path / "film.gif"
    result = digitlens("timeline", tmp_path / "a.keras", "--out", film, "--json", env=env)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    with Image.open(film) as image:
        assert image.n_frames == report["frames"] == len(load_model(tmp_path / "a.keras").timeline)
    result = digitlens("compare", tmp_path / "a.keras", tmp_path / "b.keras", "--json",
                       "--out", tmp_path / "compare.html", env=env)
    assert result.returncode == 0, result.stderr
    numbers = json.loads(result.stdout)
    assert numbers["names"] == ["a.keras", "b.keras"] and numbers["params"] == [50_890, 12_730]
    page = (tmp_path / "compare.html").read_text()
    assert "http" not in page and page.count("data:image/png;base64,") >= 5
    # a model without a timeline: one line, exit 2
    result = digitlens("train", "--epochs", "1", "--hidden", "8", "--quiet", "--no-timeline",
                       "--out", tmp_path / "c.keras", env=env)
    assert result.returncode == 0
    result = digitlens("timeline", tmp_path / "c.keras", "--out", tmp_path / "c.gif", env=env)
    assert result.returncode == 2 and "carries no training timeline" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "c.gif").exists()
