"""The network itself: layers, activations, losses, optimizers and the Sequential model.

Everything a learner needs to read to see how the lesson's network computes and learns, in
NumPy. Nothing here imports the rest of digitlens (data files, pictures, the web app).
"""

from .layer import LAYERS, Description, Layer, layer_class
from .layers import Dense, Dropout, Flatten, Input, InputLayer
from .model import Sequential
from .optimizers import SGD, Adam, RMSprop
from .callbacks import Callback, History, LambdaCallback
from .losses import CategoricalCrossentropy, SparseCategoricalCrossentropy
from .monitors import EarlyStopping, ReduceLROnPlateau
from .schedules import CosineDecay, ExponentialDecay


def lesson_model(hidden=((256, "relu"),), classes=10, input_shape=(28, 28), seed=None):
    """The lesson's network: Flatten -> Dense(256, relu) -> Dense(10, softmax), or other hidden sizes."""
    layers = [Flatten(input_shape=input_shape)]
    layers += [Dense(units, activation) for units, activation in hidden]
    layers.append(Dense(classes, "softmax"))
    return Sequential(layers, seed=seed)


__all__ = ["Sequential", "Dense", "Dropout", "Flatten", "Input", "InputLayer", "Layer", "LAYERS",
           "Description", "layer_class", "SGD",
           "Adam", "RMSprop", "Callback", "History", "LambdaCallback", "EarlyStopping", "ReduceLROnPlateau",
           "SparseCategoricalCrossentropy", "CategoricalCrossentropy", "CosineDecay", "ExponentialDecay",
           "lesson_model"]
