"""`digitlens data`: what the dataset is - shapes, pixel range, how many of each digit."""

import numpy as np

from .common import add_data_option, add_json_option, console, literal, load_dataset, print_json


def add_parsers(commands):
    parser = commands.add_parser("data", help="describe the dataset: shapes, pixel range, counts per class",
                                 description="Load MNIST (or a dataset in its form) and describe it: "
                                 "array shapes and types, the pixel range, and how many images "
                                 "of each class the training and test sets hold.")
    add_data_option(parser)
    add_json_option(parser)
    parser.set_defaults(run=run)


def pixel_mean_std(images, chunk=10_000):
    """The mean and standard deviation of every pixel, as NumPy's x.mean() and x.std() give them,
    computed a chunk of images at a time: x.std() would first make a float64 copy of the whole set
    (8 bytes for every 1-byte pixel: 376 MB for MNIST, gigabytes for a big dataset)."""
    n = images.size
    mean = sum(float(images[i:i + chunk].sum(dtype=np.float64)) for i in range(0, len(images), chunk)) / n
    squares = sum(float(np.square(images[i:i + chunk] - mean).sum())     # (chunk, 28, 28) float64
                  for i in range(0, len(images), chunk))
    return mean, (squares / n) ** 0.5


def describe(ds):
    """The facts `digitlens data` prints, as a dict."""
    classes = len(ds.class_names)
    mean, std = pixel_mean_std(ds.x_train)
    return {
        "dataset": ds.info.name,
        "title": ds.info.title,
        "source": str(ds.path),
        "origin": ds.origin,
        "verified": ds.verified,
        "shapes": {name: list(getattr(ds, name).shape) for name in ("x_train", "y_train", "x_test", "y_test")},
        "dtype": str(ds.x_train.dtype),
        "pixel_min": int(ds.x_train.min()),
        "pixel_max": int(ds.x_train.max()),
        "pixel_mean": mean,
        "pixel_std": std,
        "class_names": list(ds.class_names),
        "train_counts": np.bincount(ds.y_train, minlength=classes).tolist(),
        "test_counts": np.bincount(ds.y_test, minlength=classes).tolist(),
    }


def run(args):
    ds = load_dataset(args)
    facts = describe(ds)
    if args.json:
        print_json(facts)
        return 0
    from rich.table import Table

    out = console()
    out.print(f"[bold]{literal(ds.describe())}[/bold]")
    for name, shape in facts["shapes"].items():
        out.print(f"  {name:<8} {tuple(shape)}  {facts['dtype']}")
    out.print(f"  pixels {facts['pixel_min']}-{facts['pixel_max']} (0 = background, 255 = full ink), "
              f"mean {facts['pixel_mean']:.2f}, std {facts['pixel_std']:.2f}")
    out.print(f"  each image is {ds.x_train.shape[1]}x{ds.x_train.shape[2]} = "
              f"{ds.x_train.shape[1] * ds.x_train.shape[2]} pixels: the network's 784 inputs after Flatten")
    table = Table(title="images per class", title_justify="left")
    table.add_column("class")
    table.add_column("train", justify="right")
    table.add_column("test", justify="right")
    for name, train, test in zip(facts["class_names"], facts["train_counts"], facts["test_counts"]):
        table.add_row(literal(name), f"{train:,}", f"{test:,}")
    table.add_row("[bold]total", f"[bold]{sum(facts['train_counts']):,}", f"[bold]{sum(facts['test_counts']):,}")
    out.print(table)
    return 0
