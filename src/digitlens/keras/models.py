"""keras.models: Sequential with Keras's method signatures, load_model and save_model.

digitlens.nn's Sequential does the work; this subclass speaks Keras: compile, fit, evaluate and
predict take Keras's arguments (refusing by name the ones digitlens does not have, such as
sample_weight), evaluate and predict print their progress by default as Keras's do, summary()
prints exactly Keras's table (nn's adds where each count comes from), and save() writes real
Keras files through digitlens.io - nn itself knows nothing of files.

Left out: the functional API (keras.Model(inputs, outputs)) and subclassed models.
"""

import os
import sys

from digitlens import io
from digitlens.errors import DigitlensError
from digitlens.keras import utils
from digitlens.keras.missing import missing
from digitlens.nn import model as nn_model
from digitlens.nn.summary import summary_text


class Sequential(nn_model.Sequential):
    def __init__(self, layers=None, trainable=True, name=None, seed=None):
        if trainable is not True:
            raise ValueError("Sequential(trainable=False) is not in digitlens: every layer trains")
        super().__init__(layers, name=name or "sequential", seed=utils.next_seed() if seed is None else seed)

    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None, weighted_metrics=None,
                run_eagerly=False, steps_per_execution=1, jit_compile="auto", auto_scale_loss=True):
        """Keras's compile. run_eagerly and auto_scale_loss change nothing here (digitlens computes in
        float32); jit_compile=False keeps fit and predict on the NumPy reference, where "auto" lets
        a stack of Dense layers run through the compiled fast path (nn/fast_dense.py)."""
        _refuse("compile", loss_weights=(loss_weights, None), weighted_metrics=(weighted_metrics, None),
                steps_per_execution=(steps_per_execution, 1))
        if loss is None:
            super().compile(optimizer, metrics=None, jit_compile=jit_compile)
            self.loss, self.metrics = None, _metric_names(metrics)   # fit will ask for a loss, as Keras's
            return
        super().compile(optimizer, loss, metrics, jit_compile=jit_compile)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None, sample_weight=None,
            initial_epoch=0, steps_per_epoch=None, validation_steps=None, validation_batch_size=None,
            validation_freq=1):
        _refuse("fit", class_weight=(class_weight, None), sample_weight=(sample_weight, None),
                steps_per_epoch=(steps_per_epoch, None), validation_steps=(validation_steps, None),
                validation_batch_size=(validation_batch_size, None), validation_freq=(validation_freq, 1))
        self._require_loss()
        return super().fit(x, y, batch_size=batch_size, epochs=epochs, verbose=verbose, callbacks=callbacks,
                           validation_split=validation_split, validation_data=validation_data,
                           shuffle=shuffle, initial_epoch=initial_epoch)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None, steps=None,
                 callbacks=None, return_dict=False):
        _refuse("evaluate", sample_weight=(sample_weight, None), steps=(steps, None))
        self._require_loss()
        return super().evaluate(x, y, batch_size=batch_size, verbose=verbose, callbacks=callbacks,
                                return_dict=return_dict)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        _refuse("predict", steps=(steps, None))
        return super().predict(x, batch_size=batch_size, verbose=verbose, callbacks=callbacks)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Keras's table, given to print_fn as one string (as Keras does), or printed. Returns None,
        so print(model.summary()) prints the table and then None, as it does in Keras."""
        text = summary_text(self).split("\n\n", 1)[0] + "\n"   # the table, without nn's notes
        if print_fn is None:
            sys.stdout.write(text)
        else:
            print_fn(text)

    def save(self, filepath, overwrite=True, **kwargs):
        """Save as .keras (Keras 3) or .h5 (legacy), as model.save does in Keras."""
        _refuse("save", **{key: (value, None) for key, value in kwargs.items() if key != "zipped"})
        if not overwrite and os.path.exists(filepath):
            raise DigitlensError(f"{os.fspath(filepath)}: already exists and overwrite=False")
        io.save_model(self, filepath)

    def save_weights(self, filepath, overwrite=True):
        raise NotImplementedError("model.save_weights writes Keras's .weights.h5 files, which digitlens "
                                  "does not write: use model.save('model.keras') (weights included)")

    def load_weights(self, filepath, skip_mismatch=False):
        raise NotImplementedError("model.load_weights reads Keras's .weights.h5 files, which digitlens "
                                  "does not read: use keras.models.load_model('model.keras')")

    def _require_loss(self):
        if self.optimizer is not None and self.loss is None:
            raise ValueError("No loss to compute. Provide a `loss` argument in `compile()`, such as "
                             "loss='sparse_categorical_crossentropy'.")


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """The model in a .keras or .h5 file (Keras's or digitlens's), ready to predict or train."""
    if custom_objects:
        raise ValueError("load_model(custom_objects=...): digitlens reads only the layers it has")
    model = io.load_model(filepath, model_class=Sequential)
    if not compile:
        model.optimizer = model.loss = None
        model.metrics = []
    return model


def save_model(model, filepath, overwrite=True, **kwargs):
    Sequential.save(model, filepath, overwrite=overwrite, **kwargs)


def _metric_names(metrics):
    from digitlens.nn.metrics import names

    return names(metrics, None)


def _refuse(method, **settings):
    for key, (value, fine) in settings.items():
        if value is not fine and not (type(value) is type(fine) and value == fine):
            raise ValueError(f"{method}({key}=...) is not in digitlens (it takes {key}={fine!r})")


__all__ = ["Sequential", "load_model", "save_model"]
__getattr__ = missing("keras.models", __all__, {
    "Model": "digitlens builds Sequential models only: keras.Sequential([...])"})
