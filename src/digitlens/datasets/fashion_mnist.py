"""Fashion-MNIST: 28x28 grayscale photos of clothing in 10 classes, in exactly MNIST's file format.

    from digitlens.datasets import fashion_mnist
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data("/data/fashion")
    fashion_mnist.CLASS_NAMES[y_train[0]]   # e.g. "Ankle boot"

digitlens does not download it (it has no checksums to verify a copy with): give a directory
holding its four IDX files, set $DIGITLENS_DATA, or put them in ~/.cache/digitlens/fashion_mnist/.
Everything else is mnist.py.
"""

from __future__ import annotations

import os

from digitlens.datasets.mnist import DATASETS, load_dataset

CLASS_NAMES = DATASETS["fashion_mnist"].class_names


def load_data(data_dir: str | os.PathLike | None = None):
    """((x_train, y_train), (x_test, y_test)) uint8 arrays, like keras.datasets.fashion_mnist.load_data()."""
    return load_dataset(data_dir, "fashion_mnist").as_keras()
