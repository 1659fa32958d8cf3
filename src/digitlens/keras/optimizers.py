"""keras.optimizers: Adam, SGD and RMSprop, and keras.optimizers.schedules, from digitlens.nn."""

from digitlens.keras.missing import missing
from digitlens.nn import schedules
from digitlens.nn.optimizers import SGD, Adam, RMSprop, get

__all__ = ["Adam", "SGD", "RMSprop", "schedules", "get"]
__getattr__ = missing("keras.optimizers", __all__)
