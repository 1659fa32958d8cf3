"""keras.layers: the layers of the lesson's network and of the course's CNN, which are digitlens.nn's layers."""

from digitlens.keras import utils
from digitlens.nn import layers as nn_layers
from digitlens.nn.conv import Conv2D
from digitlens.nn.layers import Dense, Flatten, Input, InputLayer
from digitlens.nn.normalization import BatchNormalization
from digitlens.nn.pooling import AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D
from digitlens.nn.reshaping import Reshape


class Dropout(nn_layers.Dropout):
    """nn's Dropout; without a seed it takes one from keras.utils.set_random_seed, if called."""

    def __init__(self, rate, noise_shape=None, seed=None, name=None):
        super().__init__(rate, seed=utils.next_seed() if seed is None else seed, name=name)


__all__ = ["AveragePooling2D", "BatchNormalization", "Conv2D", "Dense", "Dropout", "Flatten",
           "GlobalAveragePooling2D", "Input", "InputLayer", "MaxPooling2D", "Reshape"]
