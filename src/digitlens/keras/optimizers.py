"""keras.optimizers: Adam, SGD and RMSprop, and keras.optimizers.schedules, from digitlens.nn."""

from digitlens.nn import schedules
from digitlens.nn.optimizers import SGD, Adam, RMSprop, get

__all__ = ["Adam", "SGD", "RMSprop", "schedules", "get"]
