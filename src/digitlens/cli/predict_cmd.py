"""`digitlens predict`: read your own digits - photos, drawings or 28x28 .npy arrays."""

from .common import add_json_option, console, literal, load_model, print_json


def add_parsers(commands):
    parser = commands.add_parser(
        "predict", help="predict the digit in image files",
        description="Predict the digit in each image. PNG or JPEG files of any size are prepared the "
        "way MNIST was: grayscale, light ink on dark, cropped to the ink, scaled into a 20x20 box "
        "and centred by centre of mass in 28x28. A .npy file must hold one 28x28 image.")
    parser.add_argument("model", metavar="MODEL", help=".keras or .h5 file")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="PNG/JPEG image or 28x28 .npy")
    add_json_option(parser)
    parser.set_defaults(run=run)


def run(args):
    import numpy as np

    from ..datasets.images import load_image_file

    from pathlib import Path

    from ..errors import DigitlensError

    for path in args.images:
        if Path(path).is_dir():
            raise DigitlensError(f"{path}: is a directory, expected an image file (PNG, JPEG or 28x28 .npy)")
    model = load_model(args.model)
    images = [load_image_file(path) for path in args.images]   # all checked before predicting
    probs = model.predict(np.stack(images))
    names = getattr(model, "class_names", None) or [str(i) for i in range(probs.shape[1])]
    predictions = [{"file": path, "digit": int(p.argmax()), "label": names[int(p.argmax())],
                    "probabilities": [round(float(v), 6) for v in p]}
                   for path, p in zip(args.images, probs)]
    if args.json:
        print_json({"model": args.model, "predictions": predictions})
        return 0
    out = console()
    for item in predictions:
        p = item["probabilities"]
        out.print(f"[bold]{literal(item['file'])}[/bold]: {literal(item['label'])}  ({p[item['digit']]:.1%} sure)")
        out.print("   " + "  ".join(f"{names[i]}:{v:.3f}" for i, v in enumerate(p)), markup=False)
    return 0
