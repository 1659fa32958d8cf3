"""A smoke run of the benchmark on a small slice: it runs end to end and its JSON holds every
figure. The timings themselves are never checked - they are for benchmarks/run.py to report."""

import json
import subprocess
import sys

from conftest import REPO


def test_benchmark_smoke_run(mnist_dir, tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "run.py"), "--data", str(mnist_dir),
                             "--smoke", "--peers", "pytorch", "--peer-python", sys.executable, "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    record = json.loads(out.read_text())
    names = [r["name"] for r in record["results"]]
    assert names[0] == "digitlens"
    assert names == ["digitlens", "pytorch"]              # torch is a test dependency: it must run
    ours = record["results"][0]
    for key in ("epoch_32", "epoch_128", "infer_10000_ms", "infer_single_ms", "rss_mb", "import_s", "cli_help_s"):
        assert ours[key] > 0, key
    assert "s/epoch, batch 32" in result.stdout


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
