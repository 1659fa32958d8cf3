"""keras.datasets: `mnist.load_data()` returns what Keras's does, read by digitlens.datasets.

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()

The data is found as digitlens.datasets.mnist describes ($DIGITLENS_DATA, caches, download).
"""

from digitlens.datasets import fashion_mnist, mnist
from digitlens.keras.missing import missing

__all__ = ["mnist", "fashion_mnist"]
__getattr__ = missing("keras.datasets", __all__)
