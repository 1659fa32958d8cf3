"""Faults during saves and reads: signals, a full disk, a read-only folder, a damaged cache, a slow
mirror. Whatever happens, the file that was there stays whole and loadable, the user reads one
line, and nothing half-written is left behind.

The signal tests run a child process that saves the same file over and over and kill it at random
moments (seeded): SIGINT (Ctrl+C) must leave no temporary file; SIGKILL cannot be cleaned up after,
so its temporary file must be hidden, named for its destination (.<hex>_<name>.tmp), and removed
by the next save once stale. The full-disk tests use a small tmpfs where the machine lets us mount
one (root), else a file-size limit (RLIMIT_FSIZE) on the child.
"""

import contextlib
import gzip
import os
import random
import resource
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from conftest import REPO

from digitlens import recipes
from digitlens.atomic import TEMPORARY_SUFFIX, remove_stale
from digitlens.errors import DigitlensError
from digitlens.io import load_model, save_model

ROUNDS = 4
SAVERS = {   # how the child saves `path` with `model` (the lesson's network) in a loop
    ".keras": "from digitlens.io import save_model as save",
    ".h5": "from digitlens.io import save_model as save",
    ".onnx": "from digitlens.io import export_onnx as save",
    ".svg": "from digitlens.viz.diagram import write_diagram as save",
    ".html": textwrap.dedent("""\
        from digitlens.viz.report import write_report
        from digitlens.datasets import mnist
        (x_train, y_train), (x_test, y_test) = mnist.load_data(os.environ["MNIST"])
        def save(model, path):
            write_report(model, path, x_test=x_test[:300], y_test=y_test[:300], x_train=x_train[:300],
                         index=0, class_names=[str(i) for i in range(10)], title="fault test")"""),
}


def child_script(suffix):
    # A terminal's Ctrl+C raises KeyboardInterrupt; a child of a background job starts with SIGINT
    # ignored, so the child asks for Python's own handler back.
    return textwrap.dedent("""\
        import os, signal, sys
        signal.signal(signal.SIGINT, signal.default_int_handler)
        {saver}
        from digitlens import recipes
        model = recipes.build_model(seed=0).build()
        model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        path = sys.argv[1]
        n = 0
        while True:
            save(model, path)
            n += 1
            print("saved", n, flush=True)
        """).format(saver=SAVERS[suffix])


def whole(path):
    """Raise unless `path` is a complete file of its kind (loadable, parseable)."""
    suffix = path.suffix
    if suffix in (".keras", ".h5"):
        load_model(path)
    elif suffix == ".onnx":
        import onnx

        onnx.checker.check_model(onnx.load(str(path)))
    elif suffix == ".svg":
        import xml.etree.ElementTree as ElementTree

        ElementTree.parse(path)
    else:
        assert path.read_text().rstrip().endswith("</html>")


def temporary_files(folder):
    return sorted(p.name for p in Path(folder).iterdir() if p.name.endswith(TEMPORARY_SUFFIX))


@pytest.mark.parametrize("suffix", sorted(SAVERS))
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_a_signal_during_a_save_never_damages_the_file(suffix, signum, tmp_path, mnist_dir):
    rng = random.Random(f"{suffix}{signum}")
    path = tmp_path / f"model{suffix}"
    env = {**os.environ, "MNIST": str(mnist_dir), "PYTHONPATH": str(REPO / "src")}
    for round_ in range(ROUNDS if suffix != ".html" else 1):    # a report takes seconds to write
        child = subprocess.Popen([sys.executable, "-c", child_script(suffix), str(path)], env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            first = child.stdout.readline()
            assert first.startswith("saved"), f"the child never saved {path.name}"
            threading.Thread(target=child.stdout.read, daemon=True).start()     # keep the pipe drained
            time.sleep(rng.uniform(0, 0.3))
            for _ in range(5):
                # HDF5 (via h5py) may swallow a KeyboardInterrupt that lands while it frees an
                # object; the save then goes on, and a user presses Ctrl+C again.
                child.send_signal(signum)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    child.wait(5)
                    break
            assert child.poll() is not None, "five Ctrl+C did not stop the save loop"
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        whole(path)                           # the last complete save, whichever it was
        left = temporary_files(tmp_path)
        if signum == signal.SIGINT:
            assert left == [], f"Ctrl+C left {left}"
        else:
            assert all(name.startswith(".") and name.endswith(f"_{path.name}{TEMPORARY_SUFFIX}") for name in left)
            for name in left:                 # as the next save finds it, once nobody writes to it
                os.utime(tmp_path / name, (time.time() - 3600, time.time() - 3600))
            save_model(recipes.build_model(seed=1).build(), tmp_path / f"other{'.keras' if suffix != '.h5' else '.h5'}")
            if suffix in (".keras", ".h5"):
                save_model(load_model(path), path)
                assert temporary_files(tmp_path) == []


def test_stale_temporary_files_are_removed_and_fresh_ones_kept(tmp_path):
    stale, fresh = tmp_path / ".0123abcd_m.keras.tmp", tmp_path / ".89abcdef_m.keras.tmp"
    other = tmp_path / ".0123abcd_other.keras.tmp"
    for path in (stale, fresh, other):
        path.write_bytes(b"half")
    old = time.time() - 3600
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    save_model(recipes.build_model(seed=0).build(), tmp_path / "m.keras")
    assert not stale.exists() and fresh.exists() and other.exists()      # only m.keras's, only stale ones
    assert remove_stale(tmp_path, "other.keras") == 1


@contextlib.contextmanager
def mounted(folder, options):
    """A tmpfs mounted at `folder` with `options`, or None where mounting is not allowed."""
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    try:
        yield folder if done.returncode == 0 else None
    finally:
        if done.returncode == 0:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def cli(*args, limit_bytes=None, **kwargs):
    """Run `digitlens ARGS` in a child; with limit_bytes, under a file-size limit."""
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)        # a write past the limit fails, not kills
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run([sys.executable, "-m", "digitlens.cli.main", *args], capture_output=True, text=True,
                          env=env, preexec_fn=limit if limit_bytes else None, timeout=600, **kwargs)


@pytest.fixture(scope="module")
def lesson(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lesson")
    model = recipes.build_model(seed=0).build()
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    save_model(model, folder / "lesson.keras")
    small = recipes.build_model([(4, "relu")], seed=0).build()
    save_model(small, folder / "small.keras")
    return folder


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".onnx"])
def test_a_full_disk_is_one_line_and_the_previous_file_stays(suffix, tmp_path, lesson):
    with mounted(tmp_path / "disk", "size=512k") as disk:
        if disk is not None:
            target, limit = disk / f"model{suffix}", None
        else:
            target, limit = tmp_path / f"model{suffix}", 256 * 1024
        previous = cli("export", str(lesson / "small.keras"), str(target))
        assert previous.returncode == 0, previous.stderr
        before = target.read_bytes()
        r = cli("export", str(lesson / "lesson.keras"), str(target), limit_bytes=limit)   # 2.4 MB: does not fit
        assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("digitlens export: error: "), r.stderr[-2000:]
        assert str(target) in lines[0] and ("no space left" in lines[0] or "too large" in lines[0]), lines[0]
        assert target.read_bytes() == before and temporary_files(target.parent) == []
        if suffix != ".onnx":
            load_model(target)


def test_a_read_only_folder_is_one_line(tmp_path, lesson):
    with mounted(tmp_path / "ro", "ro,size=64k") as folder:
        if folder is None:
            folder = tmp_path / "ro"
            folder.chmod(0o555)
        r = cli("export", str(lesson / "small.keras"), str(folder / "m.h5"))
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "read-only" in r.stderr or "permission" in r.stderr.lower(), r.stderr
        with pytest.raises(DigitlensError, match="cannot save"):
            save_model(load_model(lesson / "small.keras"), folder / "m.keras")


def copy_mnist(mnist_dir, cache):
    cache.mkdir(parents=True)
    for path in Path(mnist_dir).glob("*.gz"):
        (cache / path.name).write_bytes(path.read_bytes())


def test_a_damaged_cache_is_repaired_by_downloading_the_damaged_file_again(mnist_dir, clean_home, monkeypatch):
    from digitlens.datasets import mnist

    cache = mnist.cache_dir()
    copy_mnist(mnist_dir, cache)
    labels = cache / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:-20])                    # cut short: a failed disk write
    monkeypatch.setenv("DIGITLENS_MNIST_MIRRORS", Path(mnist_dir).resolve().as_uri())
    ds = mnist.load_dataset(progress=False)
    assert ds.verified and len(ds.y_test) == 10_000
    assert temporary_files(cache) == []

    images = cache / "train-images-idx3-ubyte.gz"
    data = bytearray(images.read_bytes())
    data[len(data) // 2] ^= 0xFF                                       # a flipped byte inside
    images.write_bytes(bytes(data))
    monkeypatch.setenv("DIGITLENS_MNIST_MIRRORS", (clean_home / "nowhere").as_uri())
    with pytest.raises(DigitlensError) as info:
        mnist.load_dataset(progress=False)
    message = str(info.value)
    assert "\n" not in message and "could not download MNIST" in message and str(cache) in message
    with pytest.raises(DigitlensError, match="damaged gzip|checksum|data"):     # downloads off: the error itself
        copy_mnist(mnist_dir, clean_home / "again")
        bad = clean_home / "again" / "t10k-images-idx3-ubyte.gz"
        bad.write_bytes(bad.read_bytes()[:1000])
        monkeypatch.setenv("XDG_CACHE_HOME", str(clean_home))
        (clean_home / "digitlens").mkdir()
        (clean_home / "again").rename(clean_home / "digitlens" / "mnist")
        mnist.load_dataset(download=False, progress=False)


def test_a_mirror_that_trickles_is_given_up_on_at_the_deadline(clean_home, monkeypatch):
    """A mirror that sends a byte every 0.2 s never trips a read timeout; the deadline ends it."""
    import http.server
    import threading

    from digitlens.datasets import fetch, mnist

    slow = gzip.compress(bytes(100_000), mtime=0)        # a real gzip stream, a byte at a time

    class Trickle(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "9912422")
            self.end_headers()
            try:
                for byte in slow[:200]:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(fetch, "DEADLINE_SECONDS", 2)
        monkeypatch.setenv("DIGITLENS_MNIST_MIRRORS", f"http://127.0.0.1:{server.server_address[1]}/")
        started = time.monotonic()
        with pytest.raises(DigitlensError) as info:
            mnist.load_dataset(progress=False)
        assert time.monotonic() - started < 30
        assert "too slow" in str(info.value) and "gave up after 2 s" in str(info.value)
        assert temporary_files(mnist.cache_dir()) == []
    finally:
        server.shutdown()


def test_pipes_and_devices_are_named_for_what_they_are(tmp_path, lesson):
    """A FIFO would make open() wait for a writer for ever, /dev/zero never ends: both are refused
    before anything is opened, in one line saying what they are."""
    fifo = tmp_path / "model.keras"
    os.mkfifo(fifo)
    picture = tmp_path / "digit.png"
    os.mkfifo(picture)
    for args, words in ((["summary", str(fifo)], "named pipe"),
                        (["predict", str(lesson / "small.keras"), str(picture)], "named pipe"),
                        (["predict", str(lesson / "small.keras"), "/dev/zero"], "character device"),
                        (["data", "--data", "/dev/zero"], "character device")):
        r = cli(*args)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and words in r.stderr, (args, r.stderr)
