"""`digitlens predict`: read your own digits - photos, drawings or 28x28 .npy arrays.

Every file it can read is predicted; each one it cannot (missing, not an image, blank) gets its own
line on stderr, and the exit code is 2 if any failed, so `predict M *.png` reads a whole folder and
a script still learns that something was wrong. When a picture does not look like one digit (a
dot, a line, the page's shadow taken for ink...), the prediction comes with a line saying so.
"""

from .common import add_json_option, console, load_model, print_json


def add_parsers(commands):
    parser = commands.add_parser(
        "predict", help="predict the digit in image files",
        description="Predict the digit in each image. PNG or JPEG files of any size are prepared the "
        "way MNIST was: the paper's uneven light taken away, cropped to the ink, strokes given "
        "MNIST's width, scaled into a 20x20 box and centred by centre of mass in 28x28. A .npy file "
        "must hold one 28x28 image. Files that cannot be read are reported one per line; the exit "
        "code is 2 if any failed.")
    parser.add_argument("model", metavar="MODEL", help=".keras or .h5 file")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="PNG/JPEG image or 28x28 .npy")
    add_json_option(parser)
    parser.set_defaults(run=run)


def run(args):
    import sys

    import numpy as np
    from rich.text import Text

    model = load_model(args.model)   # a model that cannot be read stops everything: one line, exit 2
    read, errors = read_images(args.images)
    names = getattr(model, "class_names", None)
    predictions = []
    if read:
        probs = model.predict(np.stack([image for _, image, _ in read]))
        names = names or [str(i) for i in range(probs.shape[1])]
        predictions = [{"file": path, "digit": int(p.argmax()), "label": names[int(p.argmax())],
                        "probabilities": [round(float(v), 6) for v in p], "doubt": doubt}
                       for (path, _, doubt), p in zip(read, probs)]
    for error in errors:
        sys.stderr.write(f"digitlens predict: error: {error['error']}\n")
    if args.json:
        print_json({"model": args.model, "predictions": predictions, "errors": errors})
        return 2 if errors else 0
    out = console()
    for item in predictions:
        p = item["probabilities"]
        line = Text(item["file"], style="bold")   # a Text: a file name is printed as it is, never as markup
        line.append(f": {item['label']}  ({p[item['digit']]:.1%} sure)")
        out.print(line)
        out.print("   " + "  ".join(f"{names[i]}:{v:.3f}" for i, v in enumerate(p)), markup=False)
        if item["doubt"]:
            out.print(Text(f"   {item['doubt']}", style="yellow"))
    return 2 if errors else 0


def read_images(paths):
    """Prepare each file: ([(path, image, doubt)], [{"file", "error"}]), both in the order given."""
    from pathlib import Path

    from ..datasets.images import load_image_file
    from ..errors import DigitlensError

    read, errors = [], []
    for path in paths:
        try:
            if Path(path).is_dir():
                raise DigitlensError(f"{path}: is a directory, expected an image file (PNG, JPEG or 28x28 .npy)")
            image, steps = load_image_file(path, return_steps=True)
        except DigitlensError as error:
            errors.append({"file": path, "error": str(error)})
        except OSError as error:   # unreadable: permissions, a device, ...
            errors.append({"file": path, "error": f"{path}: {error.strerror or error}"})
        else:
            read.append((path, image, steps["doubt"]))
    return read, errors
