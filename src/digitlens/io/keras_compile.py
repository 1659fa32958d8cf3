"""Compile settings in Keras files, shared by the .keras and .h5 formats.

A compiled Keras model records how it was compiled (`compile_config` in a .keras file,
`training_config` in a legacy .h5): the optimizer with its learning rate - a number or a schedule
such as CosineDecay, serialized as Keras serializes it - the loss and the metrics. The
optimizer's variables (Adam's m and v, ...) are optimizer_state.py's.

The loss is written as Keras writes it: its name ("categorical_crossentropy"), or - when it
works on logits - the serialized loss object with from_logits=true. Metrics keep the names they
were compiled with ("accuracy", "acc", ...).

A file whose optimizer or loss digitlens does not have (AdamW, mean squared error, label
smoothing, amsgrad, gradient clipping...), or whose settings are out of range
(a beta_1 of "x", a schedule that decays over 0 steps), still loads, uncompiled, with a warning:
predicting needs none of it.
"""

import inspect
import math
import warnings


from ..errors import DigitlensError
from ..nn import losses, metrics as metric_names, optimizers, schedules
from .keras_layers import snake_case

# digitlens optimizer class -> (Keras class name, [(digitlens slot, Keras slot name), ...])
KERAS_OPTIMIZERS = {
    optimizers.Adam: ("Adam", [("m", "momentum"), ("v", "velocity")]),
    optimizers.SGD: ("SGD", [("momentum", "momentum")]),
    optimizers.RMSprop: ("RMSprop", [("velocity", "velocity")]),
}
# Keras settings digitlens's optimizers do not have, with the values under which that is no loss.
NEUTRAL = {"weight_decay": (None, 0, 0.0), "clipnorm": (None,), "global_clipnorm": (None,),
           "clipvalue": (None,), "use_ema": (False, None), "amsgrad": (False, None),
           "centered": (False, None), "gradient_accumulation_steps": (None, 1),
           "loss_scale_factor": (None, 1, 1.0), "decay": (None, 0, 0.0)}
ACCURACY_NAMES = {"accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy"}
# What each numeric setting of an optimizer or schedule must be. Keras checks few of them, but a
# file outside them would fail - or divide by zero - in the middle of training, not at load.
SETTINGS = {
    "learning_rate": ("a number >= 0", lambda x: x >= 0),
    "beta_1": ("a number in [0, 1)", lambda x: 0 <= x < 1),
    "beta_2": ("a number in [0, 1)", lambda x: 0 <= x < 1),
    "rho": ("a number in [0, 1)", lambda x: 0 <= x < 1),
    "momentum": ("a number in [0, 1]", lambda x: 0 <= x <= 1),
    "epsilon": ("a number >= 0", lambda x: x >= 0),
    "initial_learning_rate": ("a number >= 0", lambda x: x >= 0),
    "decay_steps": ("a number >= 1", lambda x: x >= 1),      # schedules divide by it
    "decay_rate": ("a number in [0, 1]", lambda x: 0 <= x <= 1),   # above 1 it overflows
    "alpha": ("a number in [0, 1]", lambda x: 0 <= x <= 1),
    "warmup_target": ("a number >= 0 or null", lambda x: x >= 0),
    "warmup_steps": ("a number >= 0", lambda x: x >= 0),
}
NULLABLE = {"warmup_target"}              # null: no warm-up


# ---- writing ----------------------------------------------------------------------------------

def optimizer_config(optimizer):
    """{"module", "class_name", "config", "registered_name"} as Keras 3 serializes the optimizer."""
    class_name, _ = keras_optimizer(optimizer)
    config = {"name": snake_case(class_name), "learning_rate": learning_rate_config(optimizer)}
    if isinstance(optimizer, optimizers.Adam):
        config.update(beta_1=optimizer.beta_1, beta_2=optimizer.beta_2, epsilon=optimizer.epsilon,
                      amsgrad=False)
    elif isinstance(optimizer, optimizers.SGD):
        config.update(momentum=optimizer.momentum, nesterov=optimizer.nesterov)
    elif isinstance(optimizer, optimizers.RMSprop):
        config.update(rho=optimizer.rho, momentum=0.0, epsilon=optimizer.epsilon, centered=False)
    return {"module": "keras.optimizers", "class_name": class_name, "config": config,
            "registered_name": None}


def learning_rate_config(optimizer):
    rate = optimizer.learning_rate
    if isinstance(rate, schedules.LearningRateSchedule):
        return {"module": "keras.optimizers.schedules", "class_name": type(rate).__name__,
                "config": rate.get_config(), "registered_name": None}
    return float(rate)


def compile_config(model):
    """Keras 3's compile_config for a compiled digitlens model."""
    return {"optimizer": optimizer_config(model.optimizer), "loss": loss_config(model.loss),
            "loss_weights": None, "metrics": list(model.metrics), "weighted_metrics": None,
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}


def loss_config(loss):
    """The loss as Keras 3 writes it: its name, or the loss object when it works on logits."""
    if not loss.from_logits:
        return loss.name
    class_name = "".join(part.capitalize() for part in loss.name.split("_"))   # SparseCategoricalCrossentropy
    config = loss.get_config()
    config.update({"ignore_class": None} if loss.name.startswith("sparse") else {"label_smoothing": 0.0, "axis": -1})
    return {"module": "keras.losses", "class_name": class_name, "config": config, "registered_name": None}


def keras_optimizer(optimizer):
    """(Keras class name, slots) for a digitlens optimizer."""
    for cls, entry in KERAS_OPTIMIZERS.items():
        if isinstance(optimizer, cls):
            return entry
    raise DigitlensError(f"cannot save the optimizer {type(optimizer).__name__} in a Keras file: "
                         "expected Adam, SGD or RMSprop")


# ---- reading ----------------------------------------------------------------------------------

def compile_from_config(model, config, where):
    """Compile `model` as the file says; returns False (and warns) if digitlens cannot.

    Predicting needs none of this, so whatever goes wrong here - settings digitlens lacks,
    settings out of range, settings no optimizer could take - costs the compile, not the model.
    """
    if not isinstance(config, dict) or not (config.get("optimizer") or config.get("optimizer_config")):
        return False                      # never compiled: Keras writes {} or nothing
    try:
        optimizer = optimizer_from_config(config.get("optimizer") or config.get("optimizer_config"))
        loss = loss_from_config(config.get("loss"))
        metrics = _metrics(config.get("metrics"), loss)
    except _Unsupported as e:
        warnings.warn(f"{where}: loaded uncompiled: {e}", stacklevel=4)
        return False
    except Exception as e:                # the file's settings broke a constructor: still just data
        warnings.warn(f"{where}: loaded uncompiled: its optimizer settings cannot be used "
                      f"({type(e).__name__}: {_first_line(e)})", stacklevel=4)
        return False
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    return True


def optimizer_from_config(config):
    if isinstance(config, str):
        config = {"class_name": config, "config": {}}
    if not isinstance(config, dict):
        raise _Unsupported("the file does not describe its optimizer")
    class_name = str(config.get("class_name", "")).split(">")[-1]   # tf.keras 2.11: "Custom>Adam"
    settings = config.get("config") or {}
    if not isinstance(settings, dict):
        raise _Unsupported(f"the optimizer {class_name} has no settings")
    settings = dict(settings)
    cls = next((c for c, (name, _) in KERAS_OPTIMIZERS.items() if name.lower() == class_name.lower()),
               None)
    if cls is None:
        raise _Unsupported(f"the optimizer {class_name} is not one digitlens has (Adam, SGD, RMSprop)")
    if "lr" in settings and "learning_rate" not in settings:      # Keras 2.0-2.2
        settings["learning_rate"] = settings.pop("lr")
    if cls is optimizers.RMSprop and settings.get("momentum") not in (None, 0, 0.0):
        raise _Unsupported("RMSprop with momentum is not in digitlens")
    for key, neutral in NEUTRAL.items():
        if key in settings and settings[key] not in neutral:
            raise _Unsupported(f"the optimizer setting {key}={settings[key]!r} is not in digitlens")
    if isinstance(settings.get("learning_rate"), dict):
        settings["learning_rate"] = _schedule(settings["learning_rate"])
    return _make(cls, settings, "optimizer")


def _schedule(value):
    class_name = value.get("class_name")
    cls = schedules.SCHEDULES.get(class_name) if isinstance(class_name, str) else None
    if cls is None:
        raise _Unsupported(f"the learning-rate schedule {class_name} is not in digitlens "
                           f"({', '.join(schedules.SCHEDULES)})")
    settings = value.get("config") or {}
    if not isinstance(settings, dict):
        raise _Unsupported(f"the learning-rate schedule {class_name} has no settings")
    return _make(cls, settings, f"learning-rate schedule {class_name}")


def _make(cls, settings, what):
    """cls(**settings), keeping the settings cls takes, after checking each against SETTINGS."""
    settings = _accepted(cls, settings)
    if not isinstance(settings.get("name", ""), str):
        del settings["name"]              # tf.keras 2 wrote null: the class's own name will do
    params = inspect.signature(cls.__init__).parameters
    missing = [name for name, p in params.items()
               if name != "self" and p.default is p.empty and name not in settings
               and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if missing:
        raise _Unsupported(f"the {what} has no {' or '.join(missing)}")
    for key, value in settings.items():
        if (key not in SETTINGS or isinstance(value, schedules.LearningRateSchedule)
                or (value is None and key in NULLABLE)):
            continue
        expected, valid = SETTINGS[key]
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not (number and math.isfinite(value) and valid(value)):
            raise _Unsupported(f"the {what} setting {key}={value!r} is not {expected}")
    return cls(**settings)


def loss_from_config(loss):
    """The digitlens loss for a file's loss: a name, or a serialized Keras loss object or function."""
    name, settings = loss, {}
    if isinstance(loss, dict):
        name, settings = loss.get("class_name"), loss.get("config")
        if name == "function" and isinstance(settings, str):       # a Keras loss function
            name, settings = settings, {}
        settings = settings if isinstance(settings, dict) else {}
    if isinstance(name, list) and len(name) == 1:                  # tf.keras 2 wrote ["..."] at times
        name = name[0]
    key = snake_case(name) if isinstance(name, str) else None
    if key not in losses.LOSSES:
        raise _Unsupported(f"the loss {name!r} is not in digitlens ({' or '.join(losses.LOSSES)})")
    for setting, neutral in (("label_smoothing", (0, 0.0, None)), ("ignore_class", (None,)),
                             ("reduction", ("sum_over_batch_size", "auto", None))):
        if settings.get(setting) not in neutral:
            raise _Unsupported(f"the loss setting {setting}={settings[setting]!r} is not in digitlens")
    from_logits = settings.get("from_logits", False)
    if not isinstance(from_logits, bool):
        raise _Unsupported(f"the loss setting from_logits={from_logits!r} is not true or false")
    return losses.LOSSES[key](from_logits=from_logits)


def _first_line(error):
    return (str(error).strip().splitlines() or [""])[0]


def _accepted(cls, settings):
    """The settings `cls.__init__` takes; Keras's extras (name, ema_momentum, ...) are dropped."""
    params = inspect.signature(cls.__init__).parameters
    return {k: v for k, v in settings.items() if k in params and k != "self"}


def _flatten(metrics):
    if isinstance(metrics, (list, tuple)):
        for m in metrics:
            yield from _flatten(m)
    elif isinstance(metrics, dict) and "class_name" not in metrics:
        for m in metrics.values():
            yield from _flatten(m)
    elif metrics is not None:
        yield metrics


def _metrics(metrics, loss):
    try:
        return metric_names.names([n for n in map(_accuracy_name, _flatten(metrics)) if n], loss)
    except ValueError as e:
        raise _Unsupported(str(e)) from None


def _accuracy_name(metric):
    """The name an accuracy metric is logged under ("accuracy", "acc", ...), or None for others."""
    if isinstance(metric, str):
        return metric if metric in ACCURACY_NAMES else None
    if isinstance(metric, dict):          # a metric object: its class, or tf.keras 2's wrapper's name
        config = metric.get("config")
        name = config.get("name") if isinstance(config, dict) else None
        kinds = [metric.get("class_name"), name]
        if any(isinstance(k, str) and snake_case(k) in ACCURACY_NAMES for k in kinds):
            return name if isinstance(name, str) and name in ACCURACY_NAMES else "accuracy"
    return None


class _Unsupported(Exception):
    pass
