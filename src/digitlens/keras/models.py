"""keras.models: Sequential with save(), and load_model, over digitlens.nn and digitlens.io.

digitlens.nn does not know about files (model files are digitlens.io's), so the Keras facade adds
the one method Keras models have for them, `save`. Its summary() prints exactly Keras's table
(nn's summary adds where each parameter count comes from), and evaluate() prints a Keras-like
result line.
"""

import math
import os
import sys

from digitlens import io
from digitlens.errors import DigitlensError
from digitlens.keras import utils
from digitlens.nn import model as nn_model
from digitlens.nn.summary import summary_text


class Sequential(nn_model.Sequential):
    def __init__(self, layers=None, name=None, seed=None):
        super().__init__(layers, name=name or "sequential",
                         seed=utils.next_seed() if seed is None else seed)

    def save(self, filepath, overwrite=True):
        """Save as .keras (Keras 3) or .h5 (legacy), as model.save does in Keras."""
        if not overwrite and os.path.exists(filepath):
            raise DigitlensError(f"{os.fspath(filepath)}: already exists and overwrite=False")
        io.save_model(self, filepath)

    def summary(self, print_fn=None, **kwargs):
        """Keras's table, given to print_fn as one string (as Keras does), or printed."""
        text = summary_text(self).split("\n\n", 1)[0] + "\n"   # the table, without nn's notes
        if print_fn is None:
            sys.stdout.write(text)
        else:
            print_fn(text)

    def evaluate(self, x, y, batch_size=None, verbose="auto", return_dict=False):
        result = super().evaluate(x, y, batch_size=batch_size, return_dict=True)
        if verbose in ("auto", 1, 2, True):
            steps = math.ceil(len(x) / (batch_size or 32))
            values = " - ".join(f"{key}: {value:.4f}" for key, value in sorted(result.items()))
            print(f"{steps}/{steps} - {values}")
        if return_dict:
            return result
        return [result["loss"], result["accuracy"]] if "accuracy" in result else result["loss"]


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """The model in a .keras or .h5 file (Keras's or digitlens's), ready to predict or train."""
    model = io.load_model(filepath, model_class=Sequential)
    if not compile:
        model.optimizer = model.loss = None
        model.metrics = []
    return model


def save_model(model, filepath, overwrite=True):
    Sequential.save(model, filepath, overwrite=overwrite)


__all__ = ["Sequential", "load_model", "save_model"]
