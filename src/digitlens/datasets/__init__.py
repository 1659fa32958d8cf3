"""The data digitlens learns from and looks at: MNIST-style datasets and single digit images.

    from digitlens.datasets import mnist
    (x_train, y_train), (x_test, y_test) = mnist.load_data()      # as keras.datasets.mnist does

    from digitlens.datasets import prepare_image
    digit = prepare_image("my_seven.jpg")                          # (28, 28) uint8, MNIST-style

idx.py reads the file format, mnist.py finds and checks a dataset, fetch.py downloads MNIST,
fashion_mnist.py names Fashion-MNIST's classes, images.py prepares one photo or drawing (reading it
with image_files.py, finding the ink on the paper with paper.py, giving its strokes MNIST's width
with strokes.py, and saying when it does not look like one digit with doubt.py). Pillow, SciPy
and scikit-image (images) and urllib/rich (downloads) are imported only when first needed, so
importing this package is cheap.
"""

from digitlens.datasets import fashion_mnist, mnist
from digitlens.datasets.mnist import (
    DATASETS,
    Dataset,
    DatasetInfo,
    cache_dir,
    dataset_info,
    load_data,
    load_dataset,
)

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetInfo",
    "cache_dir",
    "dataset_info",
    "fashion_mnist",
    "load_data",
    "load_dataset",
    "load_image_file",
    "mnist",
    "prepare_image",
]


def __getattr__(name):
    # images.py needs Pillow; import it on first use rather than with the package.
    if name in ("prepare_image", "load_image_file", "images"):
        import importlib

        images = importlib.import_module("digitlens.datasets.images")
        return images if name == "images" else getattr(images, name)
    raise AttributeError(f"module 'digitlens.datasets' has no attribute {name!r}")
