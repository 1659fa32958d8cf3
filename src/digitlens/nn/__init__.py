"""The network itself: layers, activations, losses, optimizers and the Sequential model.

Everything a learner needs to read to see how the lesson's network computes and learns, in
NumPy. Nothing here imports the rest of digitlens (data files, pictures, the web app).

    layers.py          Flatten, Dense, Dropout: the lesson's network
    conv.py            Conv2D                                      } the course's next lesson,
    pooling.py         MaxPooling2D, AveragePooling2D,             } the convolutional network
                       GlobalAveragePooling2D                      }
    normalization.py   BatchNormalization                          }
    reshaping.py       Reshape                                     }
    conv_kernels.py    their hot loops compiled (numba), beside the NumPy
    fusion.py          a Conv2D -> MaxPooling2D pair run as one compiled step
    fast_dense.py      the fast path for Dense stacks (fast_kernels.py computes), beside layers.py
    fused.py           the optimizers' updates compiled; compiled.py loads every compiled loop once
"""

from .layer import LAYERS, Description, Layer, layer_class
from .layers import Dense, Dropout, Flatten, Input, InputLayer
from .conv import Conv2D
from .pooling import AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D
from .normalization import BatchNormalization
from .reshaping import Reshape
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


def cnn_model(classes=10, input_shape=(28, 28, 1), seed=None):
    """The course's convolutional network, 693,962 parameters: Conv2D(32, 3x3, relu) ->
    MaxPooling2D(2) -> Flatten -> Dense(128, relu) -> Dense(10, softmax)."""
    return Sequential([Conv2D(32, (3, 3), activation="relu", input_shape=input_shape), MaxPooling2D((2, 2)),
                       Flatten(), Dense(128, "relu"), Dense(classes, "softmax")], seed=seed)


__all__ = ["Sequential", "Dense", "Dropout", "Flatten", "Input", "InputLayer", "Conv2D", "MaxPooling2D",
           "AveragePooling2D", "GlobalAveragePooling2D", "BatchNormalization", "Reshape", "Layer", "LAYERS",
           "Description", "layer_class", "SGD",
           "Adam", "RMSprop", "Callback", "History", "LambdaCallback", "EarlyStopping", "ReduceLROnPlateau",
           "SparseCategoricalCrossentropy", "CategoricalCrossentropy", "CosineDecay", "ExponentialDecay",
           "lesson_model", "cnn_model"]
