"""keras.utils.set_random_seed: make the next runs repeat exactly.

Keras seeds Python's, NumPy's and its backend's generators. digitlens models and Dropout layers
draw from their own generators; after set_random_seed(n) the Keras facade gives each new model
and Dropout layer a seed taken, in order, from a generator seeded with n, so the same script
gives the same weights, batches and results.
"""

import random

import numpy as np

_seeds = None


def set_random_seed(seed):
    global _seeds
    random.seed(seed)
    np.random.seed(seed)
    _seeds = np.random.default_rng(seed)


def next_seed():
    """The next seed for a new model or layer, or None if set_random_seed has not been called."""
    return None if _seeds is None else int(_seeds.integers(2**63))


__all__ = ["set_random_seed"]
