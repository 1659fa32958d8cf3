"""The fuzz harness: real files, mutated, fed to every reader digitlens has - and what must hold.

The suite (tests/test_fuzz_*.py, a bounded number of cases through Hypothesis) and fuzz/run.py
(as many cases as time allows, crashers written to a folder) run this same harness.

Seeds are real files: IDX files cut from real MNIST, the .keras and .h5 files real Keras wrote
(tests/fixtures) and ones digitlens writes, PNG/JPEG/TIFF pictures and .npy arrays of real MNIST
digits. A mutation changes a seed as a damaged download, a bad disk or an attacker would: flipped
bits, interesting numbers written over sizes and offsets, cut or spliced bytes, and - knowing the
format - a zip entry or a JSON value changed, an HDF5 dataset reshaped or linked elsewhere, a
float picture given NaN pixels, a .npy or IDX header that claims another shape.

The invariant, for every case (`check`):
  - only digitlens's own error (DigitlensError) escapes; anything else is a crash;
  - nothing runs past DEADLINE_SECONDS (the suite: SIGALRM; fuzz/run.py: a killed worker);
  - memory stays under MEMORY_LIMIT (the suite: tracemalloc's peak, NumPy included;
    fuzz/run.py: also an address-space limit on the worker);
  - nothing is left behind: the case's folder holds only its input afterwards.

    from fuzz import harness
    seeds = harness.seeds(mnist_dir)
    failure = harness.check("keras", data, seeds)       # None, or a one-line description
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import io
import json
import os
import signal
import struct
import sys
import tempfile
import time
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
DEADLINE_SECONDS = 20            # per case; honest inputs take milliseconds
MEMORY_LIMIT = 512 * 2**20       # per case: the lesson's model loads in ~10 MB
INTERESTING_INTS = [0, 1, 2, 3, 7, 8, 16, 28, 255, 256, 784, 1000, 2**15, 2**16 - 1, 2**16, 2**31 - 1, 2**31,
                    2**32 - 1, 2**32, 2**53, 2**63 - 1, 2**64 - 1, 10**12, -1, -2**31, -2**63]
INTERESTING_FLOATS = [float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 1e38, 3.5e38, -1.0, 0.0, 1e-45,
                      255.0, 256.0, 0.5]


# ---- seeds: real files ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def seeds(mnist_dir):
    """{target: [(name, bytes), ...]} of real files to mutate; built once (a second or two)."""
    from digitlens.datasets import mnist
    from digitlens.datasets.idx import idx_header

    (x_train, y_train), (x_test, y_test) = mnist.load_data(mnist_dir)
    images, labels = x_test[:40], y_test[:40]
    idx_images = idx_header(images) + images.tobytes()
    idx_labels = idx_header(labels) + labels.tobytes()
    corpus = {"idx": [("t10k-images-idx3-ubyte", idx_images), ("t10k-labels-idx1-ubyte", idx_labels),
                      ("t10k-images-idx3-ubyte.gz", gzip.compress(idx_images, mtime=0)),
                      ("t10k-labels-idx1-ubyte.gz", gzip.compress(idx_labels, mtime=0))]}
    corpus["npy"] = [("digit.npy", _npy(images[0])), ("floats.npy", _npy(images[1].astype(np.float32) / 255)),
                     ("flat.npy", _npy(images[2].reshape(784))), ("rgb.npy", _npy(np.stack([images[3]] * 3, -1)))]
    corpus["image"] = [(f"digit.{kind}", _picture(255 - images[i], kind)) for i, kind in
                       enumerate(("png", "jpeg", "tiff", "bmp", "gif"))]
    corpus["image"] += [("float.tiff", _picture(images[5].astype(np.float32) / 255, "tiff")),
                        ("rgba.png", _picture(np.dstack([images[6]] * 3 + [images[6]]), "png")),
                        ("digit.npy", corpus["npy"][0][1])]
    corpus["keras"] = [(name, (FIXTURES / name).read_bytes()) for name in ("keras_small.keras", "keras_small_tanh.keras")]
    corpus["h5"] = [("keras_small_legacy.h5", (FIXTURES / "keras_small_legacy.h5").read_bytes())]
    with tempfile.TemporaryDirectory() as folder:
        model = _small_model(x_train[:256], y_train[:256])
        for name in ("digitlens.keras", "digitlens.h5"):
            from digitlens.io import save_model

            save_model(model, Path(folder) / name)
            corpus["keras" if name.endswith(".keras") else "h5"].append((name, (Path(folder) / name).read_bytes()))
    corpus["npz"] = [("mnist.npz", _npz(x_train[:30], y_train[:30], x_test[:20], y_test[:20]))]
    # The server and the command line, given the same files; and near-valid JSON requests.
    corpus["upload"] = corpus["keras"] + corpus["h5"]
    corpus["picture"] = corpus["image"]
    corpus["cli"] = corpus["image"] + corpus["keras"] + corpus["h5"]
    pixels = images[0].tolist()
    corpus["request"] = [(f"{path}.json", json.dumps(body).encode()) for path, body in (
        ("predict", {"pixels": pixels}), ("predict", {"pixels": sum(pixels, [])}),
        ("neuron", {"pixels": pixels, "neuron": 3}), ("output", {"pixels": pixels, "output": 7, "top": 5}),
        ("backprop", {"pixels": pixels, "label": 7, "optimizer": "sgd", "learning_rate": 0.1}),
        ("train", {"hidden_units": 8, "epochs": 1, "batch_size": 100, "samples": 100, "seed": 1}))]
    return corpus


def _small_model(x, y):
    """A digitlens model with every extra a file can hold: optimizer state, history, class names."""
    from digitlens import recipes

    model = recipes.build_model([(8, "relu")], seed=0)
    recipes.train(model, x, y, recipes.get_recipe("lesson", epochs=1, batch_size=64))
    model.class_names = [str(i) for i in range(10)]
    return model


def _npy(array):
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def _npz(*arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **dict(zip(("x_train", "y_train", "x_test", "y_test"), arrays)))
    return buffer.getvalue()


def _picture(array, kind):
    from PIL import Image

    buffer = io.BytesIO()
    image = Image.fromarray(array, mode="F") if array.dtype == np.float32 else Image.fromarray(array)
    image.save(buffer, format={"jpeg": "JPEG", "tiff": "TIFF"}.get(kind, kind.upper()))
    return buffer.getvalue()


# ---- mutations -----------------------------------------------------------------------------------

def mutate(rng, name, data, corpus=()):
    """A damaged copy of `data` (the file `name`), made with `rng` (a random.Random: Hypothesis's
    st.randoms() in the suite, so failures shrink to few mutations)."""
    structured = STRUCTURED.get(_kind(name))
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        if structured is not None and rng.random() < 0.6:
            try:
                data = structured(rng, name, data)
                continue
            except Exception:        # the seed is already too damaged for the structured mutator
                pass
        data = bytes_mutation(rng, data, corpus)
    return data


def bytes_mutation(rng, data, corpus=()):
    """One format-blind change: a bit, a byte, an interesting integer, a cut, a copy, a splice."""
    data = bytearray(data)
    if not data:
        return bytes(rng.randbytes(rng.randrange(1, 64)))
    hot = min(len(data), 4096)           # headers and directories live in the first few KB - and the last
    where = rng.randrange(hot) if rng.random() < 0.7 else rng.randrange(len(data))
    if rng.random() < 0.2:
        where = max(0, len(data) - 1 - rng.randrange(min(len(data), 256)))
    choice = rng.randrange(8)
    if choice == 0:
        data[where] ^= 1 << rng.randrange(8)
    elif choice == 1:
        data[where] = rng.choice((0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)))
    elif choice == 2:
        value = rng.choice(INTERESTING_INTS) & 0xFFFFFFFFFFFFFFFF
        size, order = rng.choice(((2, "<"), (4, "<"), (4, ">"), (8, "<"), (8, ">")))
        packed = struct.pack(order + {2: "H", 4: "I", 8: "Q"}[size], value & ((1 << (8 * size)) - 1))
        data[where:where + size] = packed
    elif choice == 3:
        del data[rng.randrange(len(data)):]                         # cut short
    elif choice == 4:
        end = min(len(data), where + rng.randrange(1, 512))
        del data[where:end]
    elif choice == 5:
        end = min(len(data), where + rng.randrange(1, 512))
        data[where:where] = data[where:end] * rng.randrange(1, 4)
    elif choice == 6 and corpus:
        other = rng.choice(list(corpus))
        start = rng.randrange(len(other)) if other else 0
        data[where:where + 64] = other[start:start + 64]
    else:
        data[where:where] = rng.randbytes(rng.randrange(1, 32))
    return bytes(data)


def json_mutation(rng, value, depth=0):
    """A JSON value with one part replaced by something a writer would never put there."""
    if isinstance(value, dict) and value and rng.random() < 0.85:
        key = rng.choice(list(value))
        if rng.random() < 0.15:
            return {k: v for k, v in value.items() if k != key}           # a key left out
        return {**value, key: json_mutation(rng, value[key], depth + 1)}
    if isinstance(value, list) and value and rng.random() < 0.85:
        i = rng.randrange(len(value))
        if rng.random() < 0.15:
            return value[:i] + value[i + 1:]
        if rng.random() < 0.1:
            return value + [value[i]]                                      # a layer twice
        return value[:i] + [json_mutation(rng, value[i], depth + 1)] + value[i + 1:]
    return rng.choice([None, True, 0, -1, 10**30, 2**31, rng.choice(INTERESTING_INTS), 1.5, float("nan"), "",
                       "[/bold]", "dense", "x" * 10_000, [], {}, [None], [[[[[[[[1]]]]]]]], {"class_name": "Lambda"},
                       value if not isinstance(value, (int, float)) else -value])


def zip_mutation(rng, name, data):
    """A .keras (or .npz) with one entry changed: its JSON, its bytes, its name, or one added."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        entries = [(info.filename, archive.read(info)) for info in archive.infolist()]
    i = rng.randrange(len(entries))
    entry, content = entries[i]
    what = rng.randrange(6)
    if what == 0 and entry.endswith(".json"):
        content = json.dumps(json_mutation(rng, json.loads(content))).encode()
    elif what == 1 and entry.endswith(".h5"):
        content = h5_mutation(rng, entry, content)
    elif what == 2 and entry.endswith(".npy"):
        content = npy_mutation(rng, entry, content)
    elif what == 3:
        entries.append((rng.choice([entry, "assets/x.h5", "../escape", "model.weights.npz"]), content))
    elif what == 4:
        entries[i] = (rng.choice(["config.json", "model.weights.h5", "x_train.npy", "weights"]), content)
        content = entries[i][1]
    else:
        content = bytes_mutation(rng, content)
    entries[i] = (entries[i][0], content)
    out = io.BytesIO()
    method = rng.choice((zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                  # "Duplicate name": on purpose
        with zipfile.ZipFile(out, "w", method) as archive:
            for entry, content in entries:
                archive.writestr(entry, content)
    return out.getvalue()


def h5_mutation(rng, name, data):
    """An HDF5 file changed through h5py: an attribute's JSON or names, a dataset reshaped, retyped
    or emptied, a link to elsewhere, an item removed."""
    import h5py

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.h5"
        path.write_bytes(data)
        with h5py.File(path, "r+") as h5:
            datasets, groups = [], []
            h5.visititems(lambda key, item: (datasets if isinstance(item, h5py.Dataset) else groups).append(key))
            what = rng.randrange(7)
            owners = [h5] + [h5[g] for g in groups]
            owner = rng.choice([o for o in owners if len(o.attrs)] or owners)
            if what == 0 and len(owner.attrs):
                key = rng.choice(list(owner.attrs))
                value = owner.attrs[key]
                text = value.decode() if isinstance(value, bytes) else value if isinstance(value, str) else None
                if text is not None and text.startswith("{"):
                    owner.attrs[key] = json.dumps(json_mutation(rng, json.loads(text)))
                else:
                    owner.attrs[key] = rng.choice([np.array([b"dense", b"dense"]), np.array([]), np.int64(5),
                                                   np.array([b"\xff\xfe"]), "x", np.zeros((3, 3))])
            elif what in (1, 2, 3) and datasets:
                key = rng.choice(datasets)
                old = h5[key]
                shape = old.shape
                del h5[key]
                if what == 1:
                    shape = tuple(rng.choice([0, 1, 3, 10**6, 2**31]) for _ in range(rng.randrange(0, 4)))
                    h5.create_dataset(key, shape=shape, dtype="f4", compression=rng.choice([None, "gzip"]))
                elif what == 2:
                    h5.create_dataset(key, shape=shape, dtype=rng.choice(["i8", "f8", "u1", "S4", "c8", "?"]))
                else:
                    h5.create_dataset(key, data=h5py.Empty("f4"))
            elif what == 4 and datasets:
                key = rng.choice(datasets)
                del h5[key]
                h5[key] = rng.choice([h5py.SoftLink("/" + rng.choice(datasets + ["nowhere"])),
                                      h5py.ExternalLink("/etc/passwd", "/x")])
            elif what == 5 and (datasets or groups):
                del h5[rng.choice(datasets + groups)]
            else:
                owner.attrs[rng.choice(["layer_names", "weight_names", "weight_names0", "model_config",
                                        "training_config"])] = rng.choice(["{}", "[", np.array([b"a"] * 3)])
        return path.read_bytes()


def npy_mutation(rng, name, data):
    """A .npy whose header claims another shape, dtype or order, or whose data is cut."""
    header_end = data.index(b"\n") + 1
    header = data[:header_end].decode("latin-1")
    body = data[header_end:]
    what = rng.randrange(4)
    if what == 0:
        shape = tuple(rng.choice([0, 1, 28, 784, 3, 10**9, 2**40]) for _ in range(rng.randrange(0, 5)))
        header = _replace_between(header, "'shape': ", ", }", repr(shape))
    elif what == 1:
        header = _replace_between(header, "'descr': ", ", ", repr(rng.choice(["<f4", "|O", "<c8", "|b1", "<U3",
                                                                            "[('a', '<f4')]", "<f16", "|V8"])))
    elif what == 2:
        header = header.replace("False", "True") if "False" in header else header.replace("True", "False")
    else:
        body = body[:rng.randrange(len(body) + 1)]
    return header.encode("latin-1") + body


def request_mutation(rng, name, data):
    """A JSON request with one value replaced: a huge integer, a wrong type, a deep list, NaN."""
    return json.dumps(json_mutation(rng, json.loads(data))).encode()


def idx_mutation(rng, name, data):
    """An IDX file (gzipped or not) whose type byte, dimension count or sizes say something else."""
    packed = data[:2] == b"\x1f\x8b"
    raw = bytearray(gzip.decompress(data) if packed else data)
    what = rng.randrange(4)
    if what == 0:
        raw[2] = rng.choice([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E, 0x00, 0xFF])
    elif what == 1:
        raw[3] = rng.choice([0, 1, 2, 3, 4, 64, 65, 200, 255])
    elif what == 2 and len(raw) >= 8:
        dim = rng.randrange(max(1, min(raw[3], (len(raw) - 4) // 4)))
        raw[4 + 4 * dim:8 + 4 * dim] = struct.pack(">I", rng.choice(INTERESTING_INTS) & 0xFFFFFFFF)
    else:
        del raw[rng.randrange(len(raw)):]
    return gzip.compress(bytes(raw), mtime=0) if packed and rng.random() < 0.8 else bytes(raw)


def image_mutation(rng, name, data):
    """A picture whose pixels hold what a camera never writes (NaN, infinity, huge floats), or
    whose mode, size or format is unusual."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        array = np.array(image.convert("F"), dtype=np.float32)
    what = rng.randrange(3)
    if what == 0:
        with np.errstate(over="ignore"):          # 1e308 becomes float32 infinity: on purpose
            for _ in range(rng.randrange(1, 20)):
                array[rng.randrange(array.shape[0]), rng.randrange(array.shape[1])] = rng.choice(INTERESTING_FLOATS)
        return _picture(array, "tiff")
    if what == 1:
        size = (rng.choice([1, 2, 3, 28, 5000]), rng.choice([1, 2, 28, 300]))
        mode = rng.choice(["1", "L", "P", "I", "I;16", "F", "RGB", "RGBA", "CMYK", "LA", "YCbCr"])
        picture = Image.new(mode, size)
        buffer = io.BytesIO()
        fmt = rng.choice(["PNG", "TIFF", "BMP", "GIF", "JPEG", "WEBP", "PPM", "ICO"])
        try:
            picture.save(buffer, format=fmt)
        except (OSError, ValueError, KeyError):
            picture.convert("L").save(buffer, format="PNG")
        return buffer.getvalue()
    return _picture(np.full((rng.choice([1, 28, 64]), rng.choice([1, 28])), rng.choice([0, 255]), np.uint8), "png")


def _replace_between(text, start, end, new):
    a = text.index(start) + len(start)
    b = text.index(end, a)
    return text[:a] + new + text[b:]


def _kind(name):
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    if "idx" in name:
        return "idx"
    if suffix == "json":
        return "json"
    return {"keras": "zip", "npz": "zip", "h5": "h5", "npy": "npy", "png": "image", "jpeg": "image",
            "tiff": "image", "bmp": "image", "gif": "image"}.get(suffix)


STRUCTURED = {"zip": zip_mutation, "h5": h5_mutation, "npy": npy_mutation, "idx": idx_mutation,
              "image": image_mutation, "json": request_mutation}


# ---- targets: what reads each kind of file -------------------------------------------------------

def run_idx(path):
    from digitlens.datasets.idx import read_idx

    read_idx(path)


def run_npy(path):
    from digitlens.datasets.images import load_image_file

    load_image_file(path)


def run_image(path):
    from digitlens.datasets.images import load_image_file, prepare_image

    if path.suffix != ".npy":
        prepare_image(path.read_bytes(), return_steps=True)
    load_image_file(path)


def run_model(path):
    from digitlens.io import load_model, save_model

    model = load_model(path)
    model.predict(np.zeros((2, *model.input_shape), np.float32))
    save_model(model, path.with_name("again" + path.suffix))      # what loads must save again
    os.remove(path.with_name("again" + path.suffix))


def run_npz(path):
    from digitlens.datasets import mnist

    mnist.load_dataset(path)


class Broken(Exception):
    """The server or the command line answered in a way it must not (a 5xx, exit 1, two lines)."""


@functools.lru_cache(maxsize=None)
def _web():
    """(a TestClient of the web app with the lesson's network, the model's file for the CLI)."""
    from fastapi.testclient import TestClient

    from digitlens import recipes
    from digitlens.io import save_model
    from digitlens.web import api_files
    from digitlens.web.app import create_app

    api_files.READ_DEADLINE = DEADLINE_SECONDS // 2      # a file looping inside HDF5 is refused in time
    model = recipes.build_model(seed=0).build()
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    folder = Path(tempfile.mkdtemp(prefix="digitlens-fuzz-model-"))
    save_model(model, folder / "lesson.keras")
    dataset = _tiny_dataset()
    client = TestClient(create_app(model, dataset=dataset), base_url="http://127.0.0.1:8000",
                        raise_server_exceptions=False)
    return client, folder / "lesson.keras"


def _tiny_dataset():
    from digitlens.datasets.mnist import DATASETS, Dataset

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (200, 28, 28), dtype=np.uint8)
    y = np.arange(200, dtype=np.uint8) % 10
    return Dataset(x, y, x[:100], y[:100], info=DATASETS["mnist"], path=Path("."), origin="data_dir", verified=False)


def answered_well(response):
    """Raise Broken unless the server answered 2xx, or 4xx with {"detail": "one line"}."""
    if response.status_code >= 500:
        raise Broken(f"HTTP {response.status_code}: {response.text[:200]}")
    if response.status_code >= 400:
        try:
            detail = response.json()["detail"]
        except Exception:
            raise Broken(f"HTTP {response.status_code} without a JSON detail: {response.text[:200]}") from None
        if not isinstance(detail, str) or "\n" in detail or not detail:
            raise Broken(f"HTTP {response.status_code} detail is not one line: {detail!r:.200}")


def run_upload(path):
    client, _ = _web()
    answered_well(client.post("/api/model/upload", files={"file": (path.name, path.read_bytes())}))


def run_picture(path):
    import base64

    client, _ = _web()
    answered_well(client.post("/api/predict", json={"image": base64.b64encode(path.read_bytes()).decode()}))


def run_request(path):
    client, _ = _web()
    route = path.name.split(".")[0]
    response = client.post(f"/api/{route}", content=path.read_bytes(), headers={"content-type": "application/json"})
    answered_well(response)
    if route == "train" and response.status_code == 202:
        client.post("/api/train/stop")
        # Wait for the job's thread to end: the next case may switch tracemalloc on or off, which
        # CPython 3.11 does not survive while another thread is allocating NumPy arrays (a segfault).
        ends = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < ends:
            if client.get("/api/train").json().get("state") not in ("queued", "starting", "running", "stopping"):
                break
            time.sleep(0.02)
        else:
            raise Broken(f"a stopped training job was still running after {DEADLINE_SECONDS} s")


def run_cli(path):
    """`digitlens predict MODEL IMAGE` or `digitlens summary MODEL` on the file, in process: exit
    0, or 2 with one error line; never 1 (a bug), never a traceback."""
    from digitlens.cli.main import main

    _, model = _web()
    argv = ["summary", str(path)] if path.suffix in (".keras", ".h5") else ["predict", str(model), str(path)]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(argv)
    lines = [line for line in err.getvalue().splitlines() if ": warning: " not in line]
    if status not in (0, 2):
        raise Broken(f"exit {status}: {err.getvalue()[:300]!r}")
    if status == 2 and (len(lines) != 1 or not lines[0].startswith(f"digitlens {argv[0]}: error: ")):
        raise Broken(f"exit 2 but not one error line: {err.getvalue()[:300]!r}")


TARGETS = {"idx": run_idx, "npy": run_npy, "image": run_image, "keras": run_model, "h5": run_model,
           "npz": run_npz, "upload": run_upload, "picture": run_picture, "request": run_request, "cli": run_cli}


# ---- the invariant -------------------------------------------------------------------------------

class Hang(BaseException):
    """Raised by the SIGALRM watchdog: a case ran past DEADLINE_SECONDS."""


@contextlib.contextmanager
def deadline(seconds):
    """Raise Hang in the main thread after `seconds` (a Python-level loop; fuzz/run.py's worker
    process catches hangs inside C code as well)."""
    if threading_main() and hasattr(signal, "SIGALRM"):
        def ring(signum, frame):
            raise Hang()
        previous = signal.signal(signal.SIGALRM, ring)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    else:
        yield


def threading_main():
    import threading

    return threading.current_thread() is threading.main_thread()


def check(target, name, data, measure_memory=True):
    """Run one case; None if the invariant held, else one line saying how it broke."""
    from digitlens.errors import DigitlensError

    with tempfile.TemporaryDirectory(prefix="digitlens-fuzz-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        started = time.monotonic()
        if measure_memory:
            tracemalloc.start()
        failure = None
        try:
            with deadline(DEADLINE_SECONDS), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                TARGETS[target](path)
        except DigitlensError as error:
            text = str(error)
            if "\n" in text or not text:
                failure = f"the error is not one line: {text[:300]!r}"
        except Hang:
            failure = f"ran past the {DEADLINE_SECONDS} s deadline"
        except MemoryError:
            failure = "MemoryError (a size was not checked before allocating)"
        except Exception as error:        # the crash the harness is here to find
            import traceback

            where = traceback.extract_tb(error.__traceback__)[-1]
            failure = (f"{type(error).__name__}: {(str(error).splitlines() or [''])[0][:200]} "
                       f"(at {Path(where.filename).name}:{where.lineno})")
        finally:
            if measure_memory:
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                if failure is None and peak > MEMORY_LIMIT:
                    failure = f"took {peak / 2**20:,.0f} MB, more than the {MEMORY_LIMIT // 2**20} MB limit"
        left = sorted(p.name for p in Path(folder).iterdir() if p.name != name)
        if failure is None and left:
            failure = f"left files behind: {left}"
        if failure is None and time.monotonic() - started > DEADLINE_SECONDS:
            failure = f"took {time.monotonic() - started:.0f} s"
        return failure


def save_crasher(folder, target, name, data, failure):
    """Write a failing input and what went wrong into `folder`; returns the file's path."""
    import hashlib

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256(data).hexdigest()[:12]
    path = folder / f"{target}-{digest}-{name}"
    path.write_bytes(data)
    path.with_name(path.name + ".txt").write_text(f"{target}: {failure}\n")
    return path


def hypothesis_test(target, corpus, examples, memory_share=0.25):
    """A test function that checks `examples` mutated seeds of `target`, drawn by Hypothesis
    (seeded, shrinking to the few mutations that matter); tracemalloc measures a share of them."""
    from hypothesis import HealthCheck, given, settings, strategies as st

    seeds = corpus[target]
    everything = [data for entries in corpus.values() for _, data in entries]

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(choice=st.integers(0, len(seeds) - 1), rng=st.randoms(use_true_random=False))
    def case(choice, rng):
        name, data = seeds[choice]
        mutated = mutate(rng, name, data, everything)
        failure = check(target, name, mutated, measure_memory=rng.random() < memory_share)
        assert failure is None, f"{target} {name} ({len(mutated):,} bytes): {failure}"

    return case


def cases(target, corpus, rng):
    """Endless (name, mutated bytes) for `target`, drawn with `rng`."""
    pool = corpus[target]
    everything = [data for entries in corpus.values() for _, data in entries]
    while True:
        name, data = rng.choice(pool)
        yield name, mutate(rng, name, data, everything)


if __name__ == "__main__":
    sys.exit("run fuzz/run.py")
