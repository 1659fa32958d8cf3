"""A smoke run of the benchmark on a small slice: it runs end to end, its JSON holds every figure
for digitlens and for the peers the test environment has (JAX, PyTorch, scikit-learn: test
dependencies; Keras on TensorFlow lives only in benchmarks/.venv-peers), and the table and the
goals are printed. The timings themselves are never checked - they are for benchmarks/run.py
to report."""

import json
import subprocess
import sys

from conftest import REPO

FIGURES = ("epoch_32", "epoch_128", "infer_10000_ms", "infer_single_ms", "rss_mb", "import_s")


def test_benchmark_smoke_run(mnist_dir, tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run.py"), "--data", str(mnist_dir),
                             "--smoke", "--peers", "jax,pytorch,sklearn", "--peer-python", sys.executable,
                             "--out", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    record = json.loads(out.read_text())
    names = [r["name"] for r in record["results"]]
    assert names == ["digitlens", "jax", "pytorch", "sklearn"]     # all test dependencies: they must run
    for r in record["results"]:
        for key in FIGURES:
            assert r[key] > 0, (r["name"], key)
        assert len(r["loadavg"]) == 2
        assert r["runs"][0]["target"]["epoch_seconds"], r["name"]
    assert record["results"][0]["cli_help_s"] > 0
    assert "s/epoch, batch 32" in result.stdout and "load average" in result.stdout
    assert any(goal["goal"].startswith("epoch_32: jax / digitlens") for goal in record["goals"])


def test_unknown_peer_names_are_refused_in_one_line(mnist_dir):
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run.py"), "--data", str(mnist_dir),
                             "--smoke", "--peers", "jax,tensorflw"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--peers: expected names from jax, pytorch, keras, sklearn, received tensorflw" in result.stderr
    assert "Traceback" not in result.stderr


def test_cnn_benchmark_smoke_run(mnist_dir, tmp_path):
    out = tmp_path / "cnn.json"
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "cnn.py"), "--data", str(mnist_dir), "--smoke",
                             "--peers", "pytorch", "--peer-python", sys.executable, "--out", str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    record = json.loads(out.read_text())
    assert [r["name"] for r in record["results"]] == ["digitlens", "pytorch"]
    for r in record["results"]:
        for key in ("epoch_32", "epoch_128", "infer_10000_ms", "rss_mb"):
            assert r[key] > 0, (r["name"], key)
        assert 0 <= r["accuracy_32"] <= 1 and r["run"]["train_images"] == 500
    assert "CNN s/epoch, batch 32" in result.stdout
