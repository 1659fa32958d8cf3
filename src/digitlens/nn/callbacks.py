"""Callbacks: code that watches fit, evaluate and predict, called where Keras calls it.

    fit        on_train_begin
                 on_epoch_begin(epoch)
                   on_train_batch_begin(batch), on_train_batch_end(batch, logs)   every step
                   on_test_begin, on_test_batch_begin/_end, on_test_end           the validation
                 on_epoch_end(epoch, logs)
               on_train_end(logs)
    evaluate   on_test_begin, on_test_batch_begin(batch), on_test_batch_end(batch, logs), on_test_end(logs)
    predict    on_predict_begin, on_predict_batch_begin(batch), on_predict_batch_end(batch,
               {"outputs": ...}), on_predict_end

The logs are Keras's: the running means of this epoch so far, {"accuracy": ..., "loss": ...}
(keys named as compile's metrics were, in alphabetical order), with "val_accuracy" and "val_loss"
added at the end of an epoch that had validation data. A callback may set
`self.model.stop_training = True` to end training after the current step.

digitlens's own callbacks - the CLI's bars, the web app's live curves, History - read three more
numbers: each batch's own loss and accuracy (batch_loss, batch_accuracy) and the training time
of each epoch (seconds). Those are in the logs of every digitlens.nn.Callback; a
keras.callbacks.Callback (every callback a learner writes for Keras, and Keras's own, such as
EarlyStopping) sees exactly the keys Keras passes (`keras_logs = True`).

Also here: History, which every fit returns, and LambdaCallback. EarlyStopping and
ReduceLROnPlateau are in monitors.py, the progress lines in progbar.py, ModelCheckpoint (which
writes files) in digitlens.keras.callbacks.

The fast path (fast_dense.py) may run several steps in one compiled call and then call
on_train_batch_end for each of them, in order, with its own logs. `step_boundaries` is how a
callback says which steps it must see as they happen, with the model exactly as that step left
it: by default every step, if it listens to batches at all.

Left out: Keras's asynchronous dispatch of callbacks, and its callbacks for other tools
(TensorBoard, CSVLogger, BackupAndRestore, ...).
"""

EXTRAS = ("batch_loss", "batch_accuracy", "seconds")   # digitlens's additions to Keras's logs
KERAS_PARAMS = ("verbose", "epochs", "steps")            # fit's params as Keras gives them
ALIASES = {"on_train_batch_begin": "on_batch_begin", "on_train_batch_end": "on_batch_end"}


class Callback:
    keras_logs = False          # True: see only Keras's keys in the logs (see above)

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params            # {"verbose": ..., "epochs": ..., "steps": ...} as Keras's
                                        # (+ "batch_size", "samples" for digitlens's own callbacks)

    def step_boundaries(self, epoch, steps):
        """The steps of this epoch (0 .. steps - 1) after which this callback must find the model
        exactly as that step left it - to read its weights, pause, or stop training at once.
        None means every step (the default for a callback with its own batch hooks, such as every
        keras.callbacks.Callback a learner writes); () means none: it only reads the logs, which
        it gets for every step either way."""
        listens = _overrides(self, "on_train_batch_end") or _overrides(self, "on_train_batch_begin")
        return None if listens else ()

    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): self.on_batch_begin(batch, logs=logs)   # Keras's old names
    def on_train_batch_end(self, batch, logs=None): self.on_batch_end(batch, logs=logs)
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass


class CallbackList:
    """The callbacks of one fit, evaluate or predict, each hook called on every callback in order.

    A callback whose hook is the do-nothing one above is skipped, so the training loop pays only
    for the callbacks that do something at each step.
    """

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"callbacks: expected keras.callbacks.Callback objects, received "
                                f"{type(callback).__name__}")
            callback.set_model(model)
            callback.set_params({key: params[key] for key in KERAS_PARAMS if key in params}
                                if callback.keras_logs else params)
        self.params = params
        self._listening = {}

    def listening(self, hook):
        """The callbacks that do something in `hook` (decided once per hook)."""
        return [callback for callback, _ in self._methods(hook)]

    def _methods(self, hook):
        found = self._listening.get(hook)
        if found is None:
            found = self._listening[hook] = [(c, getattr(c, hook)) for c in self.callbacks if _overrides(c, hook)]
        return found

    def call(self, hook, *args, logs=None):
        """Call `hook` on every callback that listens, with the logs it should see."""
        logs = {} if logs is None else logs
        for callback, method in self._methods(hook):
            if callback.keras_logs and any(key in logs for key in EXTRAS):
                seen = {key: value for key, value in logs.items() if key not in EXTRAS}
                method(*args, logs=seen)
                logs.update(seen)           # what it added (ReduceLROnPlateau's learning_rate) stays
            else:
                method(*args, logs=logs)    # by keyword, as Keras passes it

    def step_boundaries(self, epoch, steps):
        """The steps after which some callback needs the model as that step left it: a sorted
        list, or None for every step (see Callback.step_boundaries)."""
        wanted = set()
        for callback in self.callbacks:
            chosen = callback.step_boundaries(epoch, steps)
            if chosen is None:
                return None
            wanted.update(int(s) for s in chosen)
        return sorted(wanted)

    def on_train_begin(self): self.call("on_train_begin")
    def on_train_end(self, logs): self.call("on_train_end", logs=logs)
    def on_epoch_begin(self, epoch): self.call("on_epoch_begin", epoch)
    def on_epoch_end(self, epoch, logs): self.call("on_epoch_end", epoch, logs=logs)
    def on_train_batch_begin(self, batch): self.call("on_train_batch_begin", batch)
    def on_train_batch_end(self, batch, logs): self.call("on_train_batch_end", batch, logs=logs)
    def on_test_begin(self): self.call("on_test_begin")
    def on_test_end(self, logs): self.call("on_test_end", logs=logs)
    def on_test_batch_begin(self, batch): self.call("on_test_batch_begin", batch)
    def on_test_batch_end(self, batch, logs): self.call("on_test_batch_end", batch, logs=logs)
    def on_predict_begin(self): self.call("on_predict_begin")
    def on_predict_end(self): self.call("on_predict_end")
    def on_predict_batch_begin(self, batch): self.call("on_predict_batch_begin", batch)
    def on_predict_batch_end(self, batch, logs): self.call("on_predict_batch_end", batch, logs=logs)


def _overrides(callback, hook):
    """True if `callback` does something in `hook` (or in the older name Keras still calls from it)."""
    for name in (hook, ALIASES.get(hook)):
        if name is None:
            continue
        method = getattr(callback, name)
        if getattr(method, "__func__", method) is not getattr(Callback, name):
            return True
    return False


class History(Callback):
    """What happened during training.

    history   {"accuracy": [...], "loss": [...], "val_accuracy": [...], "val_loss": [...]},
              one value per epoch, as Keras's History has.
    epoch     the epoch numbers, from 0.
    params    fit's {"verbose", "epochs", "steps"}.
    batches   one record per step: {"epoch", "batch", "loss", "accuracy"} of that batch alone,
              for drawing the per-batch training curve (digitlens's addition).
    seconds   the training time of each epoch, without validation (digitlens's addition).
    """

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.batches = []
        self.seconds = []
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def step_boundaries(self, epoch, steps):
        return ()                       # only records the logs

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append({"epoch": self._epoch, "batch": batch,
                             "loss": logs["batch_loss"], "accuracy": logs["batch_accuracy"]})

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        self.seconds.append(logs.get("seconds"))
        for key, value in logs.items():
            if key not in EXTRAS:
                self.history.setdefault(key, []).append(value)
        self.model.history = self

    def to_dict(self):
        return {"history": self.history, "epoch": self.epoch, "seconds": self.seconds,
                "batches": self.batches}

    def __repr__(self):
        return f"<History epochs={len(self.epoch)} keys={list(self.history)}>"


class LambdaCallback(Callback):
    """A callback made of functions, as Keras's:

        LambdaCallback(on_epoch_end=lambda epoch, logs: print(epoch, logs["loss"]))

    Each of on_epoch_begin/on_epoch_end(epoch, logs), on_train_begin/on_train_end(logs) and
    on_train_batch_begin/on_train_batch_end(batch, logs) may be given (on_batch_begin and
    on_batch_end too, Keras's older names).
    """

    keras_logs = True
    HOOKS = ("on_epoch_begin", "on_epoch_end", "on_train_begin", "on_train_end", "on_train_batch_begin",
             "on_train_batch_end", "on_batch_begin", "on_batch_end")

    def __init__(self, **functions):
        unknown = sorted(set(functions) - set(self.HOOKS))
        if unknown:
            raise TypeError(f"LambdaCallback: unknown argument {unknown[0]!r}: expected "
                            f"{', '.join(self.HOOKS)}")
        for hook, function in functions.items():
            if function is not None:
                if not callable(function):
                    raise TypeError(f"LambdaCallback {hook}: expected a function, received "
                                    f"{type(function).__name__}")
                setattr(self, hook, function)
