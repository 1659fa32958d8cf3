"""Tests for digitlens.datasets.images (and paper.py, strokes.py, doubt.py beside it): preparing a
photo or drawing the way MNIST was prepared, and saying when it does not look like one digit.

The photos are generated (tests/photo_like.py): real MNIST test digits and pen strokes on paper
in uneven light, read by the lesson's network trained with the default recipe."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digitlens import recipes
from digitlens.datasets.doubt import PREFIX
from digitlens.datasets.images import doubt_of_prepared, load_image_file, prepare_image
from digitlens.datasets.strokes import MNIST_WIDTH, MNIST_WIDTHS
from digitlens.errors import ImageError
from photo_like import LIGHTS, PENS, photo_set

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


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


def test_real_mnist_digits_come_back_nearly_unchanged(mnist):
    # MNIST's own digits are already prepared: nearly all come back as they were (a thin one may
    # move by a pixel; the thickest and thinnest 1% are redrawn at MNIST's typical width).
    _, (x_test, _) = mnist
    close = redrawn = 0
    for digit in x_test[:300]:
        again, steps = prepare_image(digit, return_steps=True)
        close += np.corrcoef(again.ravel().astype(float), digit.astype(float).ravel())[0, 1] > 0.9
        redrawn += steps["redrawn"]
        row, col = centre_of_mass(again)
        assert abs(row - 14) <= 0.5 and abs(col - 14) <= 0.5
        assert not steps["inverted"] and steps["ruled_lines"] == 0
    assert close >= 0.96 * 300 and redrawn <= 0.03 * 300


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


def test_a_picture_with_no_digit_on_paper():
    noise = np.random.default_rng(0).integers(0, 256, (200, 300), dtype=np.uint8)
    assert error_for(noise) == ("image array: no digit found (nothing stands out from its background: expected "
                                "one digit on plain paper or a plain background)")


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


# --- photos of handwriting ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_model(mnist):
    """The lesson's network trained with digitlens's default recipe on all of MNIST (about 98%)."""
    (x_train, y_train), _ = mnist
    model = recipes.build_model(seed=0)
    recipes.train(model, x_train, y_train, recipes.get_recipe("default"))
    return model


@pytest.fixture(scope="module")
def photos(mnist):
    _, (x_test, y_test) = mnist
    return photo_set(x_test, y_test, count=100, seed=0)


def test_photos_of_handwriting_are_read_right(photos, default_model):
    # Gradients, vignettes, shadows, ruled paper, thin pens and markers, turned pages: the issue's
    # 8 photo-like images were all misread; at least 90% of these must be read right.
    prepared = [prepare_image(photo.image, return_steps=True) for photo in photos]
    predicted = default_model.predict(np.stack([image for image, _ in prepared])).argmax(axis=1)
    right = predicted == np.array([photo.label for photo in photos])
    write_contact_sheet(ARTIFACTS / "photos-contact-sheet.png", photos, prepared, predicted)
    wrong = [(photo.how, int(p)) for photo, p, ok in zip(photos, predicted, right) if not ok]
    assert right.mean() >= 0.9, wrong
    for key, kinds in (("pen", PENS), ("light", LIGHTS), ("ruled", (False, True))):
        for kind in kinds:
            group = right[[photo.how[key] == kind for photo in photos]]
            assert group.mean() >= 0.8, (key, kind, group.mean(), wrong)
    doubted = [(photo.how, steps["doubt"]) for photo, (_, steps) in zip(photos, prepared) if steps["doubt"]]
    assert len(doubted) <= 3, doubted  # one digit each: hardly any doubt
    assert sum(steps["ruled_lines"] > 0 for photo, (_, steps) in zip(photos, prepared) if photo.how["ruled"]) >= 45


def test_photo_set_is_the_same_for_the_same_seed(mnist):
    _, (x_test, y_test) = mnist
    first, again = photo_set(x_test, y_test, count=3, seed=7), photo_set(x_test, y_test, count=3, seed=7)
    for a, b in zip(first, again):
        assert a.label == b.label and a.how == b.how and np.array_equal(np.asarray(a.image), np.asarray(b.image))


def page_with_seven(light_step=0.4, size=(600, 450)):
    """A grey page brighter on the left by `light_step` (a fraction), with a dark 7 in the middle."""
    w, h = size
    light = 1 - light_step * np.linspace(0, 1, w, dtype=np.float32)[None, :].repeat(h, 0)
    page = Image.new("L", size, 220)
    ImageDraw.Draw(page).line([(240, 140), (360, 140), (290, 320)], fill=40, width=14)
    return Image.fromarray(np.uint8(np.asarray(page, np.float32) * light)), (133, 328, 233, 368)


def test_uneven_light_is_not_ink():
    # The case: the darker side of the page counted as ink and widened the crop to the page.
    photo, (top, bottom, left, right) = page_with_seven(light_step=0.45)
    image, steps = prepare_image(photo, return_steps=True)
    found = steps["box"]
    assert steps["inverted"] and steps["doubt"] is None
    assert abs(found[0] - top) <= 8 and abs(found[1] - bottom) <= 8 and abs(found[2] - left) <= 8 and abs(found[3] - right) <= 8
    evenly_lit, _ = page_with_seven(light_step=0.0)
    assert blurred_correlation(image, prepare_image(evenly_lit)) > 0.85  # alike, give or take a pixel


def blurred_correlation(a, b):
    """How alike two digits are, not counting a shift by a pixel (thin strokes would not overlap)."""
    from scipy.ndimage import gaussian_filter

    a, b = (gaussian_filter(v.astype(np.float64), 1.5).ravel() for v in (a, b))
    return np.corrcoef(a, b)[0, 1]


def test_ruled_lines_are_paper_and_a_pen_crossing_them_stays():
    page = np.full((480, 640), 225.0, np.float32)
    for row in range(20, 480, 44):
        page[row : row + 2] = 160  # faint lines across the page
    image = Image.fromarray(np.uint8(page))
    ImageDraw.Draw(image).line([(320, 90), (320, 380)], fill=30, width=10)  # a 1 across four lines
    prepared, steps = prepare_image(image, return_steps=True)
    assert steps["ruled_lines"] >= 10
    top, bottom, left, right = steps["box"]
    assert 300 <= left and right <= 340 and top >= 80 and bottom <= 392  # the lines are not in the crop
    column = steps["digit"][90:380, 320]
    assert column.min() > 100  # the pen's ink where it crosses the lines is kept
    assert steps["doubt"] is None and prepared[:, :10].max() == 0


def stroke_width_of(image) -> float:
    return prepare_image(image, return_steps=True)[1]["stroke_width"]


def test_constants_are_mnists_stroke_widths(mnist):
    _, (x_test, _) = mnist
    widths = np.array([stroke_width_of(digit) for digit in x_test[:1000]])
    assert np.median(widths) == pytest.approx(MNIST_WIDTH, abs=0.01)
    assert np.mean(widths < MNIST_WIDTHS[0]) <= 0.02 and np.mean(widths > MNIST_WIDTHS[1]) <= 0.02


def test_thin_pens_and_markers_come_out_with_mnists_stroke_width(photos):
    # Prepared once, a digit's strokes measure (by the same rule as MNIST's) within MNIST's range.
    for pen, (low, high) in (("thin", (0.0, MNIST_WIDTHS[0])), ("thick", (0.17, 1.0))):
        chosen = [photo for photo in photos if photo.how["pen"] == pen][:12]
        before = [stroke_width_of(photo.image) for photo in chosen]
        after = [stroke_width_of(prepare_image(photo.image)) for photo in chosen]
        assert np.median(before) < high and np.median(before) > low, (pen, before)
        assert MNIST_WIDTHS[0] <= np.median(after) <= MNIST_WIDTHS[1], (pen, after)
        assert sum(MNIST_WIDTHS[0] <= w <= MNIST_WIDTHS[1] for w in after) >= 10, (pen, after)


def write_contact_sheet(path: Path, photos, prepared, predicted, first=24):
    """The first photos and every misread one, each with its preparation steps, as one PNG to look at."""
    from PIL import ImageFont

    chosen = [i for i in range(len(photos)) if i < first or predicted[i] != photos[i].label]
    keys = ("grayscale", "paper", "ink", "digit", "strokes", "final")
    tile, per_row = 96, 2
    width = per_row * (len(keys) * (tile + 4) + 16)
    sheet = Image.new("RGB", (width, ((len(chosen) + 1) // 2) * (tile + 34) + 4), (255, 255, 255))
    draw, font = ImageDraw.Draw(sheet), ImageFont.load_default()
    for n, i in enumerate(chosen):
        x0, y0 = (n % per_row) * (len(keys) * (tile + 4) + 16), (n // per_row) * (tile + 34)
        steps = prepared[i][1]
        for k, key in enumerate(keys):
            picture = Image.fromarray(steps[key])
            picture = picture.resize((tile, tile), Image.Resampling.NEAREST) if key == "final" else picture
            picture.thumbnail((tile, tile))
            sheet.paste(picture.convert("RGB"), (x0 + k * (tile + 4), y0))
        how = photos[i].how
        ok = predicted[i] == photos[i].label
        text = (f"#{i} {how['source']}, {how['pen']}, {how['light']}{', ruled' if how['ruled'] else ''}: "
                f"{photos[i].label} read as {predicted[i]}" + ("" if steps["doubt"] is None else " (doubt)"))
        draw.text((x0, y0 + tile + 4), text, fill=(0, 110, 0) if ok else (200, 0, 0), font=font)
        draw.text((x0, y0 + tile + 17), f"stroke width {steps['stroke_width']:.3f}"
                  f"{' redrawn' if steps['redrawn'] else ''}, {steps['ruled_lines']} ruled lines erased",
                  fill=(90, 90, 90), font=font)
    path.parent.mkdir(exist_ok=True)
    sheet.save(path)


# --- does it look like one digit? -----------------------------------------------------------------


def page(size=(600, 450), paper=215):
    return Image.new("L", size, paper)


def drawn(shape, *points, width=14, ink=35, size=(600, 450), paper=215):
    image = page(size, paper)
    draw = ImageDraw.Draw(image)
    if shape == "line":
        draw.line(points, fill=ink, width=width)
    elif shape == "dot":
        draw.ellipse(points, fill=ink)
    elif shape == "ring":
        draw.ellipse(points, outline=ink, width=width)
    return image


def doubt_of(image):
    return prepare_image(image, return_steps=True)[1]["doubt"]


@pytest.mark.parametrize("image, words", [
    (drawn("dot", 300, 200, 306, 206), "almost no ink (a mark"),
    (drawn("line", (250, 120), (330, 120), (280, 330), ink=195), "barely darker than the paper"),
    (drawn("dot", 260, 180, 330, 250), "a dot or a blob"),
    (drawn("line", (150, 220), (450, 220)), "one straight line, 90 degrees from upright"),
    (drawn("line", (180, 330), (420, 190)), "one straight line, 60 degrees from upright"),
    (drawn("line", (0, 0), (599, 449), (599, 0), (0, 449), width=20), "touches every edge"),
    (drawn("ring", 4, 4, 595, 445), "fills nearly the whole picture"),
    (drawn("line", (0, 300), (150, 300), (150, 449), width=16), "runs into a corner"),
])
def test_what_does_not_look_like_one_digit_says_why(image, words):
    doubt = doubt_of(image)
    assert doubt is not None and doubt.startswith(PREFIX) and words in doubt, doubt
    assert "\n" not in doubt


def test_two_digits_apart_are_doubted():
    image = drawn("line", (120, 120), (130, 330))
    ImageDraw.Draw(image).line([(380, 120), (500, 120), (430, 330)], fill=35, width=14)
    assert "other marks apart from it" in doubt_of(image)


@pytest.mark.parametrize("image", [
    drawn("line", (300, 100), (290, 350)),                      # a 1, upright: a line, but a digit
    drawn("line", (240, 140), (360, 140), (290, 320)),          # a 7
    drawn("ring", 230, 100, 370, 350),                          # a 0
    drawn("line", (80, 70), (250, 70), (180, 180), (150, 280), ink=255, width=24, size=(336, 336), paper=0),
])
def test_digits_raise_no_doubt(image):
    assert doubt_of(image) is None


def test_mnist_and_photos_raise_hardly_any_doubt(mnist):
    _, (x_test, _) = mnist
    doubted = [i for i, digit in enumerate(x_test[:500]) if doubt_of(digit) is not None]
    assert len(doubted) <= 5, doubted
    assert sum(doubt_of_prepared(digit) is not None for digit in x_test[:500]) <= 5


def test_prepared_digits_are_doubted_too(tmp_path):
    bar = np.zeros((28, 28), np.uint8)
    bar[13:16, 4:24] = 255
    assert "one straight line" in doubt_of_prepared(bar)
    np.save(tmp_path / "bar.npy", bar)
    image, steps = load_image_file(tmp_path / "bar.npy", return_steps=True)
    assert np.array_equal(image, bar) and "one straight line" in steps["doubt"]
    speck = np.zeros((28, 28), np.uint8)
    speck[14, 14] = 255
    assert "almost no ink" in doubt_of_prepared(speck) or "dot" in doubt_of_prepared(speck)
