"""keras.activations: the activation functions digitlens has, as Keras's functions.

    keras.layers.Dense(256, activation=keras.activations.relu)
    keras.activations.softmax(np.array([[1.0, 2.0]]))      # array([[0.269, 0.731]])

Each is digitlens.nn.activations' entry (a function you can call, which the layers also know how
to differentiate); `get("relu")` looks one up by name, as Keras's does.
"""

from digitlens.keras.missing import missing
from digitlens.nn.activations import ACTIVATIONS, get

linear = ACTIVATIONS["linear"]
relu = ACTIVATIONS["relu"]
sigmoid = ACTIVATIONS["sigmoid"]
tanh = ACTIVATIONS["tanh"]
softmax = ACTIVATIONS["softmax"]


def serialize(activation):
    """The name Keras writes for an activation: "relu"."""
    return get(activation).name


__all__ = ["get", "linear", "relu", "serialize", "sigmoid", "softmax", "tanh"]
__getattr__ = missing("keras.activations", __all__)
