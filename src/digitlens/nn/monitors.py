"""Callbacks that watch one number at the end of every epoch: EarlyStopping and ReduceLROnPlateau.

    EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
        stop when val_loss has not improved for 3 epochs, and go back to the best epoch's weights
    ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2)
        halve the learning rate when val_loss has not improved for 2 epochs

As in Keras: the number is read from the epoch's logs (a name that is not there is warned about
and skipped); mode "auto" minimises losses and maximises accuracies; an improvement must beat the
best so far by more than min_delta.

Left out: learning-rate schedules under ReduceLROnPlateau (refused: a schedule sets the rate itself).
"""

import warnings

from ..errors import DigitlensError
from .callbacks import Callback
from .metrics import ACCURACY_NAMES


class MonitorCallback(Callback):
    """What both callbacks share: which number, which way is better, by how much."""

    keras_logs = True

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode {mode!r} is unknown, fallback to auto mode.",
                          stacklevel=3)
            mode = "auto"
        self.monitor, self.mode, self.best = monitor, mode, baseline
        self.min_delta = abs(min_delta)
        self.lower_is_better = None

    def _decide_direction(self):
        if self.mode != "auto":
            self.lower_is_better = self.mode == "min"
            return
        name = self.monitor.removeprefix("val_")
        if name == "loss":
            self.lower_is_better = True
        elif name in getattr(self.model, "metrics", ()) or name in ACCURACY_NAMES:
            self.lower_is_better = False
        else:
            raise DigitlensError(f"{type(self).__name__} callback received monitor={self.monitor}, but "
                                 "cannot tell whether it should be maximized or minimized: pass "
                                 "mode='max' or mode='min'")

    def is_improvement(self, value, reference):
        if reference is None:
            return True
        if self.lower_is_better:
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def monitored(self, logs, what):
        value = (logs or {}).get(self.monitor)
        if value is None:
            warnings.warn(f"{what} conditioned on metric `{self.monitor}` which is not available. "
                          f"Available metrics are: {','.join(logs or {})}", stacklevel=3)
        return value


class EarlyStopping(MonitorCallback):
    """Stop training when the monitored number has stopped improving (Keras's EarlyStopping).

    patience: epochs without improvement to wait. baseline: a value to beat before patience
    counts from an improvement. restore_best_weights: at the end, put back the weights of the
    best epoch. start_from_epoch: epochs to let pass before watching.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor, mode, min_delta=min_delta)
        self.patience, self.verbose, self.baseline = patience, verbose, baseline
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch

    def on_train_begin(self, logs=None):
        self.wait = self.stopped_epoch = self.best_epoch = 0
        self.best = self.best_weights = None

    def on_epoch_end(self, epoch, logs=None):
        if self.lower_is_better is None:
            self._decide_direction()
        current = self.monitored(logs, "Early stopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self.is_improvement(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self.is_improvement(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ReduceLROnPlateau(MonitorCallback):
    """Multiply the learning rate by `factor` when the monitored number has stopped improving for
    `patience` epochs, never below min_lr, then wait `cooldown` epochs (Keras's ReduceLROnPlateau).
    Adds the learning rate to each epoch's logs, as Keras does, so History records it."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        super().__init__(monitor, mode, min_delta=min_delta)
        self.factor, self.patience, self.verbose = factor, patience, verbose
        self.cooldown, self.min_lr = cooldown, min_lr

    def on_train_begin(self, logs=None):
        if callable(self.model.optimizer.learning_rate):
            raise DigitlensError("ReduceLROnPlateau: the optimizer's learning rate is a schedule "
                                 f"({type(self.model.optimizer.learning_rate).__name__}), which sets the "
                                 "rate itself; give the optimizer a fixed learning rate instead")
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def on_epoch_end(self, epoch, logs=None):
        if self.lower_is_better is None:
            self._decide_direction()
        optimizer = self.model.optimizer
        logs["learning_rate"] = float(optimizer.learning_rate)
        current = self.monitored(logs, "Learning rate reduction is")
        if current is None:
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self.is_improvement(current, self.best):
            self.best, self.wait = current, 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience and optimizer.learning_rate > self.min_lr:
                optimizer.learning_rate = max(optimizer.learning_rate * self.factor, self.min_lr)
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                          f"{optimizer.learning_rate}.")
                self.cooldown_counter, self.wait = self.cooldown, 0
