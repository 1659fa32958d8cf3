"""`import tensorflow as tf` code, run by digitlens: `from digitlens import tf` instead.

    from digitlens import tf
    model = tf.keras.models.Sequential([
        tf.keras.layers.Flatten(input_shape=(28, 28)),
        tf.keras.layers.Dense(256, activation=tf.nn.relu),
        tf.keras.layers.Dense(10, activation=tf.nn.softmax),
    ])

tf.keras is digitlens's Keras facade (digitlens.keras); tf.nn has the activation functions
learners pass to layers - relu, sigmoid, tanh, softmax - which are also plain functions on
arrays; tf.random.set_seed(n) seeds what digitlens draws for new models and Dropout layers (what
TensorFlow's global seed covers), not NumPy's generator. Code written as `from tensorflow.keras.X
import Y` becomes `from digitlens.keras.X import Y`. Everything else of TensorFlow is refused by name.
"""

import types

from digitlens import __version__, keras
from digitlens.keras.missing import missing
from digitlens.nn.activations import ACTIVATIONS

nn = types.ModuleType("digitlens.tf.nn", "tf.nn: the activation functions layers take.")
for _name in ("relu", "sigmoid", "tanh", "softmax"):
    setattr(nn, _name, ACTIVATIONS[_name])
nn.__getattr__ = missing("tf.nn", ["relu", "sigmoid", "tanh", "softmax"])


def _set_seed(seed):
    """TensorFlow's global seed: the seeds of the next models and Dropout layers."""
    import numpy as np

    keras.utils._seeds = np.random.default_rng(seed)


random = types.ModuleType("digitlens.tf.random", "tf.random: the global seed.")
random.set_seed = _set_seed
random.__getattr__ = missing("tf.random", ["set_seed"])

__all__ = ["keras", "nn", "random", "__version__"]
__getattr__ = missing("tf", __all__, {
    "data": "give fit NumPy arrays: model.fit(x_train, y_train, batch_size=32)",
    "GradientTape": "digitlens computes gradients in each layer's backward(); see digitlens.explain.backprop"})
