"""keras.callbacks: code that runs during fit, evaluate and predict, with Keras's hooks and logs.

    class Stop(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if logs.get("accuracy") > 0.999:
                self.model.stop_training = True

    model.fit(x, y, callbacks=[Stop(), keras.callbacks.EarlyStopping(patience=2),
                               keras.callbacks.ModelCheckpoint("best.keras", save_best_only=True)])

The hooks, their order and the logs are Keras's (digitlens.nn.callbacks); EarlyStopping and
ReduceLROnPlateau are digitlens.nn.monitors'; ModelCheckpoint writes real Keras files through
digitlens.io.
"""

import os
import warnings

from digitlens import io
from digitlens.keras.missing import missing
from digitlens.nn import callbacks as nn_callbacks
from digitlens.nn.callbacks import History, LambdaCallback
from digitlens.nn.monitors import EarlyStopping, MonitorCallback, ReduceLROnPlateau


class Callback(nn_callbacks.Callback):
    """Keras's base class: subclass it and override the hooks you need. Its logs hold exactly the
    keys Keras passes ({"accuracy", "loss", "val_accuracy", "val_loss"})."""

    keras_logs = True


class ModelCheckpoint(MonitorCallback):
    """Save the model during training, as Keras's ModelCheckpoint does.

    filepath may name the epoch and any logged number: "model-{epoch:02d}-{val_loss:.2f}.keras".
    save_best_only: save only when `monitor` improved; save_freq: "epoch" or every N batches.
    The file is a real .keras (or legacy .h5) file: keras.models.load_model reads it.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__(monitor, mode, initial_value_threshold)
        self.filepath, self.verbose, self.save_best_only = os.fspath(filepath), verbose, save_best_only
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)):
            raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected save_freq are 'epoch' or "
                             "integer values")
        if save_weights_only:
            raise ValueError("ModelCheckpoint(save_weights_only=True) writes Keras's .weights.h5 files, "
                             "which digitlens does not write: save whole models (a .keras file) instead")
        if not self.filepath.endswith((".keras", ".h5")):
            raise ValueError(f"The filepath provided must end in `.keras` (Keras model format). "
                             f"Received: filepath={self.filepath}")
        self.save_freq = save_freq
        self._batches = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches += 1
        if self._batches >= self.save_freq:
            self._batches = 0
            self._save(self._epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _save(self, epoch, batch, logs):
        if self.lower_is_better is None:
            self._decide_direction()
        logs = logs or {}
        numbers = {"epoch": epoch + 1, **({"batch": batch + 1} if batch is not None else {}), **logs}
        try:
            path = self.filepath.format(**numbers)
        except KeyError as e:
            raise KeyError(f"ModelCheckpoint: the filepath {self.filepath!r} names {e}, which is not in "
                           f"the logs: {', '.join(logs)}") from None
        if self.save_best_only and not self._improved(epoch, logs, path):
            return
        if not self.save_best_only and self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        io.save_model(self.model, path)

    def _improved(self, epoch, logs, path):
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Can save best model only with {self.monitor} available.", stacklevel=3)
            return True
        best = "None" if self.best is None else f"{self.best:.5f}"
        if self.is_improvement(current, self.best):
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {best} to {current:.5f}, "
                      f"saving model to {path}")
            self.best = current
            return True
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {best}")
        return False


__all__ = ["Callback", "EarlyStopping", "History", "LambdaCallback", "ModelCheckpoint", "ReduceLROnPlateau"]
__getattr__ = missing("keras.callbacks", __all__, {
    "TensorBoard": "digitlens draws its own curves: digitlens explain, or model.history.history"})
