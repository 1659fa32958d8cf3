"""Every bad input through the real entry point: exit 2 and one line, never "internal error".

The classes of cases issue 11 found ending in exit 1 or a traceback, each through `digitlens`
itself (cli.main.main, in process, with its stdout and stderr captured): damaged .npy and float
pictures, datasets with no images, models whose layers share a name, text with rich markup or
emoji codes in it, a network too big to allocate, a learning rate a float32 cannot hold, IDX
headers that claim the impossible.
"""

import contextlib
import gzip
import io
import json
import zipfile

import numpy as np
import pytest
from conftest import FIXTURES
from PIL import Image

from digitlens import recipes
from digitlens.cli.main import main
from digitlens.datasets.idx import idx_header, read_idx
from digitlens.errors import DataError, DigitlensError
from digitlens.io import save_model


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main([str(a) for a in args])
        except SystemExit as exit_:          # argparse's refusals of an option
            status = exit_.code
    return status, out.getvalue(), err.getvalue()


def refused(*args, words=()):
    status, out, err = run(*args)
    lines = [line for line in err.splitlines() if ": warning: " not in line]
    assert status == 2 and len(lines) == 1, (status, err)
    assert lines[0].startswith(f"digitlens {args[0]}: error: ") and "internal error" not in err, lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, small_trained_model):
    path = tmp_path_factory.mktemp("model") / "lesson.keras"
    save_model(small_trained_model, path)
    return path


def npy_bytes(array):
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def test_damaged_arrays_and_pictures_are_one_line(model_file, tmp_path):
    good = npy_bytes(np.zeros((28, 28), np.uint8))
    cases = {
        "header.npy": good[:12] + b"!!!!" + good[16:],
        "huge.npy": good.replace(b"(28, 28)", b"(99999999999, 99999)"),
        "empty.npy": npy_bytes(np.zeros((0, 28), np.uint8)),
        "cut.npy": good[:-100],
        "objects.npy": good.replace(b"|u1", b"|O"),
    }
    for value in (np.nan, np.inf):
        array = np.zeros((28, 28), np.float32)
        array[5:20, 10:15], array[0, 0] = 1, value
        buffer = io.BytesIO()
        Image.fromarray(array, mode="F").save(buffer, format="TIFF")
        cases[f"{value}.tiff"] = buffer.getvalue()
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        refused("predict", model_file, tmp_path / name, words=[name])


def write_idx(folder, images, labels, test_images=None, test_labels=None):
    folder.mkdir(parents=True, exist_ok=True)
    test_images = images if test_images is None else test_images
    test_labels = labels if test_labels is None else test_labels
    for name, array in (("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels),
                        ("t10k-images-idx3-ubyte", test_images), ("t10k-labels-idx1-ubyte", test_labels)):
        (folder / name).write_bytes(idx_header(array) + array.tobytes())
    return folder


def test_a_dataset_without_images_is_one_line_everywhere(model_file, tmp_path):
    empty = np.zeros((0, 28, 28), np.uint8), np.zeros((0,), np.uint8)
    some = np.zeros((5, 28, 28), np.uint8), np.arange(5, dtype=np.uint8)
    no_train = write_idx(tmp_path / "no-train", *empty, *some)
    no_test = write_idx(tmp_path / "no-test", *some, *empty)
    for folder, kind in ((no_train, "training"), (no_test, "test")):
        for args in (["data"], ["train", "--epochs", "1", "--out", tmp_path / "m.keras"], ["evaluate", model_file],
                     ["explain", model_file, "--out", tmp_path / "r.html"]):
            refused(*args, "--data", folder, words=["0 images", kind])


def test_a_model_whose_layers_share_a_name_is_refused_on_loading_and_saving(tmp_path):
    with zipfile.ZipFile(FIXTURES / "keras_small.keras") as real:
        entries = {info.filename: real.read(info) for info in real.infolist()}
    config = json.loads(entries["config.json"])
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "Dense":
            layer["config"]["name"] = "dense"                  # both Dense layers now "dense"
    entries["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "twins.keras", "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    refused("summary", tmp_path / "twins.keras", words=["twins.keras", "two layers named 'dense'"])
    refused("export", tmp_path / "twins.keras", tmp_path / "out.h5", words=["two layers named 'dense'"])
    from digitlens.nn import Dense, Flatten, Sequential

    with pytest.raises(ValueError, match="should have unique names"):   # as Keras's Sequential refuses
        Sequential([Flatten(input_shape=(28, 28)), Dense(4, name="same"), Dense(10, "softmax", name="same")])
    model = Sequential([Flatten(input_shape=(28, 28)), Dense(4, name="same"), Dense(10, "softmax", name="other")])
    model.layers[2].name = "same"                       # renamed afterwards: the files must still refuse it
    for suffix in (".keras", ".h5"):
        with pytest.raises(DigitlensError, match="two layers named 'same'"):
            save_model(model, tmp_path / f"made{suffix}")
        assert not (tmp_path / f"made{suffix}").exists()


def test_text_from_users_and_files_is_printed_literally(tmp_path, mnist_dir, small_trained_model):
    model = recipes.build_model([(8, "relu")], seed=0).build()
    model.class_names = ["[/bold]", "[red]x", ":smile:", "3", "4", "5", "6", "7", "8", "9"]
    folder = tmp_path / "a[/x]"               # a folder "a[" holding "x]": the [/x] is a rich closing tag
    folder.mkdir(parents=True)
    save_model(model, folder / "m.keras")
    picture = folder / "scan [v2] :thumbs_up:.png"
    image = Image.new("L", (60, 60), 0)
    image.paste(255, (25, 10, 35, 50))
    image.save(picture)
    status, out, err = run("predict", folder / "m.keras", picture)
    assert status == 0, err
    assert f"{picture}:" in out, out                       # the file name as it is, brackets and all
    assert any(name in out for name in model.class_names), out
    status, out, err = run("summary", folder / "m.keras")
    assert status == 0 and str(folder / "m.keras") in out, (out, err)
    status, out, err = run("export", folder / "m.keras", folder / "copy [1].h5")
    assert status == 0 and f"wrote {folder / 'copy [1].h5'}" in out, (out, err)
    data_folder = tmp_path / "mnist [copy]"
    data_folder.mkdir()
    for path in mnist_dir.glob("*.gz"):
        (data_folder / path.name).write_bytes(path.read_bytes())
    status, out, err = run("data", "--data", data_folder)
    assert status == 0 and str(data_folder) in out, (out, err)


def test_a_network_too_big_to_allocate_is_refused_before_allocating(tmp_path):
    for command in (["train", "--out", tmp_path / "m.keras"], ["summary"]):
        refused(*command, "--hidden", "100000000:relu", words=["--hidden", "79,500,000,010 parameters", "at most"])
    refused("train", "--learning-rate", "1e308", "--out", tmp_path / "m.keras", words=["--learning-rate", "3.4e38"])


def test_warnings_are_one_line_after_the_output_and_none_before_an_error(model_file, tmp_path):
    import warnings

    from digitlens.cli.main import Warnings

    lines = []
    with contextlib.redirect_stderr(io.StringIO()) as err:
        with Warnings("predict") as noticed:
            warnings.warn("Corrupt EXIF data.\n  Expecting to read 2 bytes")
            warnings.warn("Corrupt EXIF data.\n  Expecting to read 2 bytes")
            np.float32(1e30) * np.float32(1e30)
        assert err.getvalue() == ""                       # nothing yet: the output comes first
        noticed.show()
    lines = err.getvalue().splitlines()
    assert lines == ["digitlens predict: warning: Corrupt EXIF data.",
                     "digitlens predict: warning: overflow encountered in scalar multiply"]
    (tmp_path / "bad.npy").write_bytes(b"\x93NUMPY junk")
    refused("predict", model_file, tmp_path / "bad.npy")


@pytest.mark.parametrize("shape, words", [
    ((0, 2**31, 2**31, 2**31), "more than the 1 GB"),
    ((2_000_000, 28, 28), "more than the 1 GB"),
    ((1,) * 70, "70 dimensions"),
])
def test_idx_headers_that_claim_the_impossible_are_one_line(shape, words, tmp_path):
    header = bytes([0, 0, 0x08, len(shape)]) + b"".join(int(d).to_bytes(4, "big") for d in shape)
    for name, data in (("x-idx3-ubyte", header + bytes(1000)), ("x-idx3-ubyte.gz", gzip.compress(header + bytes(10**6)))):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DataError) as info:
            read_idx(tmp_path / name)
        assert words in str(info.value) and "\n" not in str(info.value)


def test_a_small_gzip_claiming_two_million_images_costs_no_memory(tmp_path):
    """1.5 MB of gzip that would unpack to 1.5 GB of zeros: refused from its header."""
    from conftest import peak_memory

    header = bytes([0, 0, 0x08, 3]) + b"".join(d.to_bytes(4, "big") for d in (2_000_000, 28, 28))
    path = tmp_path / "train-images-idx3-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(header)
        for _ in range(100):
            f.write(bytes(2**20))
    peak = peak_memory(lambda: pytest.raises(DataError, read_idx, path))
    assert peak < 8 * 2**20
