"""Tests for digitlens.datasets.images: preparing a photo or drawing the way MNIST was prepared."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitlens.datasets.idx import read_images
from digitlens.datasets.images import load_image_file, prepare_image
from digitlens.errors import ImageError


def draw_seven(size=(300, 200), ink=0, paper=255, mode="L") -> Image.Image:
    """A thick "7" in `ink` on `paper`, like a photo of a digit written with a marker."""
    image = Image.new(mode, size, paper)
    ImageDraw.Draw(image).line([(100, 40), (200, 40), (140, 170)], fill=ink, width=18)
    return image


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    mass = image.astype(np.float64)
    return (mass.sum(1) @ np.arange(28)) / mass.sum(), (mass.sum(0) @ np.arange(28)) / mass.sum()


def assert_mnist_like(image: np.ndarray) -> None:
    """Light ink on black, inside a 20x20 box, centre of mass within 1 px of (14, 14)."""
    assert image.shape == (28, 28) and image.dtype == np.uint8
    assert image.max() == 255 and image[0].max() == image[:, 0].max() == 0
    rows, cols = np.nonzero(image)
    assert rows.max() - rows.min() < 20 + 1 and cols.max() - cols.min() < 20 + 1
    assert max(rows.max() - rows.min(), cols.max() - cols.min()) == 19  # the longer side fills the box
    row, col = centre_of_mass(image)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1


def error_for(source, **kwargs) -> str:
    with pytest.raises(ImageError) as caught:
        prepare_image(source, **kwargs)
    assert "\n" not in str(caught.value)
    return str(caught.value)


def test_dark_ink_on_paper_becomes_mnist_like():
    image, steps = prepare_image(draw_seven(), return_steps=True)
    assert_mnist_like(image)
    assert steps["inverted"] and steps["grayscale"].shape == (200, 300)
    assert max(steps["scaled"].shape) == 20 and steps["final"] is image
    top, bottom, left, right = steps["box"]
    assert steps["cropped"].shape == (bottom - top, right - left)


def test_light_ink_on_dark_is_not_inverted():
    image, steps = prepare_image(np.asarray(draw_seven(ink=255, paper=0)), return_steps=True)
    assert not steps["inverted"]
    assert np.array_equal(image, prepare_image(draw_seven()))


def test_paths_bytes_and_formats_agree(tmp_path):
    expected = prepare_image(draw_seven())
    draw_seven().save(tmp_path / "seven.png")
    draw_seven().convert("RGB").save(tmp_path / "seven.jpg", quality=95)
    assert np.array_equal(prepare_image(tmp_path / "seven.png"), expected)
    assert np.array_equal(prepare_image((tmp_path / "seven.png").read_bytes()), expected)
    assert np.array_equal(load_image_file(str(tmp_path / "seven.png")), expected)
    jpeg = prepare_image(tmp_path / "seven.jpg").astype(int)
    assert np.abs(jpeg - expected).mean() < 3


def test_coloured_and_palette_images():
    expected = prepare_image(draw_seven())
    red_on_yellow = draw_seven(ink=(200, 0, 0), paper=(250, 240, 120), mode="RGB")
    assert_mnist_like(prepare_image(red_on_yellow))
    assert np.array_equal(prepare_image(draw_seven().convert("P")), expected)


@pytest.mark.parametrize("stroke", [(0, 0, 0, 255), (255, 255, 255, 255)])
def test_strokes_on_a_transparent_background(stroke):
    # Drawings exported from a canvas: the strokes are opaque, everything else transparent.
    image = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(100, 40), (200, 40), (140, 170)], fill=stroke, width=18)
    assert np.array_equal(prepare_image(image), prepare_image(draw_seven()))


def test_any_size_array_and_float_values():
    seven = np.asarray(draw_seven())
    expected = prepare_image(seven)
    assert np.array_equal(prepare_image(seven / 255.0), expected)
    assert np.array_equal(prepare_image(np.stack([seven] * 3, axis=-1)), expected)


def test_large_photo_is_prepared_and_centred():
    photo = Image.new("RGB", (4000, 3000), (200, 190, 180))
    ImageDraw.Draw(photo).ellipse([1500, 1000, 2500, 2500], outline=(30, 30, 30), width=80)  # a "0"
    assert_mnist_like(prepare_image(photo))


def test_real_mnist_digits_come_back_nearly_unchanged(mnist_dir):
    digits = read_images(mnist_dir / "t10k-images-idx3-ubyte.gz")[:20]
    for digit in digits:
        again = prepare_image(digit).astype(float)
        assert np.corrcoef(again.ravel(), digit.astype(float).ravel())[0, 1] > 0.9
        row, col = centre_of_mass(again)
        assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5


# --- .npy files ----------------------------------------------------------------------------------


def test_npy_28x28_is_used_as_it_is(tmp_path):
    digit = prepare_image(draw_seven())
    np.save(tmp_path / "digit.npy", digit)
    np.save(tmp_path / "flat_float.npy", digit.reshape(784) / 255.0)
    assert np.array_equal(load_image_file(tmp_path / "digit.npy"), digit)
    assert np.array_equal(load_image_file(tmp_path / "flat_float.npy"), digit)


def test_npy_of_any_size_can_be_prepared(tmp_path):
    np.save(tmp_path / "seven.npy", np.asarray(draw_seven()))
    assert np.array_equal(prepare_image(tmp_path / "seven.npy"), prepare_image(draw_seven()))


def test_bad_npy_files(tmp_path):
    np.save(tmp_path / "wrong.npy", np.zeros((28, 27), np.uint8))
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.save(tmp_path / "negative.npy", np.full((28, 28), -1.0))
    for name, words in [
        ("wrong.npy", "expected 28x28 or 784 values, found an array of shape (28, 27)"),
        ("objects.npy", "not a readable .npy array"),
        ("negative.npy", "expected pixel values 0-255 (or floats 0-1), found -1 to -1"),
    ]:
        with pytest.raises(ImageError, match="^" + str(tmp_path / name).replace("\\", "\\\\") + ": ") as caught:
            load_image_file(tmp_path / name)
        assert words in str(caught.value)


# --- what cannot be prepared ---------------------------------------------------------------------


def test_blank_image(tmp_path, monkeypatch):
    Image.new("L", (300, 200), 255).save(tmp_path / "image.png")
    monkeypatch.chdir(tmp_path)
    assert error_for("image.png") == "image.png: no ink found (the image is blank)"
    assert error_for(np.full((28, 28), 7, np.uint8)) == "image array: no ink found (the image is blank)"
    assert "no ink found" in error_for(Image.new("RGBA", (50, 50), (0, 0, 0, 0)))


def test_file_that_is_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("these are not pixels")
    assert error_for(path) == f"{path}: not an image (Pillow cannot identify the file's format)"
    assert error_for(b"not pixels either") == "image bytes: not an image (Pillow cannot identify the file's format)"


def test_damaged_and_missing_files(tmp_path):
    buffer = io.BytesIO()
    draw_seven().save(buffer, format="PNG")
    (tmp_path / "cut.png").write_bytes(buffer.getvalue()[:300])
    assert error_for(tmp_path / "cut.png").startswith(f"{tmp_path / 'cut.png'}: damaged image")
    assert error_for(tmp_path / "gone.png") == f"{tmp_path / 'gone.png'}: no such file"


def test_unsupported_array_shape():
    assert "found shape (5, 28, 28)" in error_for(np.zeros((5, 28, 28), np.uint8))
