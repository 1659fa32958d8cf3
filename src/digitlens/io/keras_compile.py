"""Compile settings and optimizer state in Keras files, shared by the .keras and .h5 formats.

A compiled Keras model records how it was compiled (`compile_config` in a .keras file,
`training_config` in a legacy .h5): the optimizer with its learning rate - a number or a schedule
such as CosineDecay, serialized as Keras serializes it - the loss and the metrics. A trained one
also stores the optimizer's variables, in Keras's order:

    iteration, learning_rate (absent with a schedule), then for each weight of the model
    (dense kernel, dense bias, dense_1 kernel, ...) its slots: Adam m and v, SGD momentum,
    RMSprop velocity.

digitlens keeps each slot as one flat array over all parameters (see nn/optimizers.py); here it is
cut into Keras's per-weight arrays and put back together. With the optimizer's settings, the
weights and this state, either program can continue training where the other stopped.

A file whose optimizer or loss digitlens does not have (AdamW, a loss other than sparse
categorical cross-entropy, amsgrad, gradient clipping...) still loads, uncompiled, with a warning:
predicting needs none of it.
"""

import inspect
import math
import warnings

import numpy as np

from ..errors import DigitlensError
from ..nn import optimizers, schedules
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
ACCURACY_NAMES = {"accuracy", "acc", "sparse_categorical_accuracy"}
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
    return {"optimizer": optimizer_config(model.optimizer), "loss": model.loss.name,
            "loss_weights": None, "metrics": list(model.metrics), "weighted_metrics": None,
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": False}


def optimizer_variables(model):
    """[(Keras name, array)] of the optimizer's variables in Keras's order.

    Names are Keras 3's paths, "adam/iteration", "adam/sequential_dense_kernel_momentum"; the
    .keras format stores only the order, the legacy .h5 format the names too. An optimizer that
    has not stepped yet stores zeros, as a freshly built Keras optimizer holds.
    """
    optimizer = model.optimizer
    class_name, _ = keras_optimizer(optimizer)
    slot_names = keras_slots(optimizer)
    prefix = snake_case(class_name)
    values = [(f"{prefix}/iteration", np.array(optimizer.iterations, dtype=np.int64))]
    if not isinstance(optimizer.learning_rate, schedules.LearningRateSchedule):
        values.append((f"{prefix}/learning_rate",
                       np.array(optimizer.current_learning_rate(), dtype=np.float32)))
    slots = optimizer.slots() if getattr(optimizer, "size", None) == model.params.size else {}
    for layer, key, start, shape in weight_slices(model):
        for slot, keras_slot in slot_names:
            flat = slots.get(slot)
            value = (flat[start:start + math.prod(shape)].reshape(shape) if flat is not None
                     else np.zeros(shape, dtype=np.float32))
            values.append((f"{prefix}/{model.name}_{layer.name}_{key}_{keras_slot}", value))
    return values


def keras_optimizer(optimizer):
    """(Keras class name, slots) for a digitlens optimizer."""
    for cls, entry in KERAS_OPTIMIZERS.items():
        if isinstance(optimizer, cls):
            return entry
    raise DigitlensError(f"cannot save the optimizer {type(optimizer).__name__} in a Keras file: "
                         "expected Adam, SGD or RMSprop")


def keras_slots(optimizer):
    """[(digitlens slot, Keras slot name)] this optimizer keeps per weight."""
    if isinstance(optimizer, optimizers.SGD) and not optimizer.momentum:
        return []                          # plain SGD keeps nothing per weight, in either program
    return keras_optimizer(optimizer)[1]


def weight_slices(model):
    """(layer, "kernel" or "bias", offset in model.params, shape) for every weight, in order."""
    out, start = [], 0
    for layer in model.layers:
        for key, shape in layer.param_shapes().items():
            out.append((layer, key, start, shape))
            start += math.prod(shape)
    return out


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
        loss = loss_name(config.get("loss"))
        metrics = ["accuracy"] if any(_is_accuracy(m) for m in _flatten(config.get("metrics"))) else []
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


def loss_name(loss):
    name = loss
    if isinstance(loss, dict):
        config = loss.get("config") or {}
        if isinstance(config, dict) and config.get("from_logits"):
            raise _Unsupported("a loss on logits (from_logits=True) is not in digitlens")
        name = loss.get("class_name")
    if isinstance(name, str) and snake_case(name) == "sparse_categorical_crossentropy":
        return "sparse_categorical_crossentropy"
    raise _Unsupported(f"the loss {name!r} is not in digitlens (sparse_categorical_crossentropy)")


def state_size(model):
    """The most arrays Keras can store for the compiled model's optimizer: iteration, learning
    rate, and each slot of each weight."""
    return 2 + len(keras_slots(model.optimizer)) * len(weight_slices(model))


def restore_optimizer_state(model, values, where, names=None):
    """Put Keras's optimizer variables back into the compiled model's optimizer.

    `values` are in the file's order; `names`, where the file has them (legacy .h5), sort them
    into iteration, learning rate and slots whatever their order. On a mismatch the optimizer is
    left fresh, with a warning, as Keras does.
    """
    optimizer = model.optimizer
    slot_names = keras_slots(optimizer)
    weights = weight_slices(model)
    sorted_values = _sort_by_name(values, names, [k for _, k in slot_names]) if names else None
    if sorted_values is None:
        sorted_values = _sort_by_position(values, len(slot_names), len(weights))
    if sorted_values is None:
        problem = "it does not fit this model"
    elif not _is_count(sorted_values[0]) or not _is_rate(sorted_values[1]):
        problem = "its step count or learning rate is not a plain number"
    elif not any(sorted_values[2]) and int(sorted_values[0]) == 0:
        problem = None                    # compiled, never trained: only iteration 0 and the rate
    else:
        problem = _misfit(sorted_values[2], slot_names, weights)
    if problem:
        warnings.warn(f"{where}: optimizer state not restored ({problem}); training would start "
                      "with a fresh optimizer", stacklevel=4)
        return False
    iteration, rate, per_slot = sorted_values
    for (slot, _), arrays in zip(slot_names, per_slot):
        flat = optimizer.slots()[slot]        # one array over all parameters (nn/optimizers.py)
        for (layer, key, start, shape), value in zip(weights, arrays):
            flat[start:start + math.prod(shape)] = np.asarray(value, dtype=np.float32).ravel()
    optimizer.iterations = int(iteration)
    if rate is not None and not isinstance(optimizer.learning_rate, schedules.LearningRateSchedule):
        optimizer.learning_rate = float(rate)
    return True


def _misfit(per_slot, slot_names, weights):
    """Why these slot arrays cannot be this model's optimizer state, or None if they can."""
    for (slot, _), arrays in zip(slot_names, per_slot):
        if len(arrays) != len(weights):
            return f"{len(arrays)} {slot} arrays for {len(weights)} weights"
        for (layer, key, _, shape), value in zip(weights, arrays):
            if np.shape(value) != tuple(shape):
                return f"{slot} of {layer.name} {key} has shape {np.shape(value)}, expected {shape}"
    return None


def _sort_by_position(values, n_slots, n_weights):
    """(iteration, learning rate or None, [[slot 0 per weight], ...]) from Keras's order."""
    per_weight = n_slots * n_weights
    if len(values) in (1, 2) and all(np.ndim(v) == 0 for v in values):
        per_weight = 0                    # no slots stored (Keras, compiled but never trained)
    if len(values) not in (1 + per_weight, 2 + per_weight) or np.ndim(values[0]) != 0:
        return None
    has_rate = len(values) == 2 + per_weight
    rest = values[1 + has_rate:]
    per_slot = [rest[s::n_slots] for s in range(n_slots)]   # Keras interleaves: m, v, m, v, ...
    return values[0], (values[1] if has_rate else None), per_slot


def _sort_by_name(values, names, slot_names):
    """The same from names: tf.keras 2 ("Adam/dense/kernel/m:0") or Keras 3 ("..._momentum")."""
    aliases = {"m": "momentum", "v": "velocity", "rms": "velocity"}
    iteration = rate = None
    per_slot = {s: [] for s in slot_names}
    for name, value in zip(names, values):
        last = name.split("/")[-1].split(":")[0]
        if last in ("iter", "iteration", "iterations"):
            iteration = value
        elif last in ("learning_rate", "lr"):
            rate = value
        else:
            token = aliases.get(last, last)
            slot = next((s for s in slot_names if token == s or token.endswith("_" + s)), None)
            if slot is None:
                return None
            per_slot[slot].append(value)
    if iteration is None:
        return None
    return iteration, rate, [per_slot[s] for s in slot_names]


def _is_count(value):
    """A step count: one whole number >= 0, stored as an integer or a float."""
    return _is_real_scalar(value) and value >= 0 and value == np.floor(value) and value < 2**62


def _is_rate(value):
    """A learning rate: absent, or one finite number >= 0."""
    return value is None or (_is_real_scalar(value) and value >= 0)


def _is_real_scalar(value):
    value = np.asarray(value)
    return (value.ndim == 0 and (np.issubdtype(value.dtype, np.integer)
                                 or np.issubdtype(value.dtype, np.floating))
            and bool(np.isfinite(value)))


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


def _is_accuracy(metric):
    names = [metric]
    if isinstance(metric, dict):          # a metric object: its class, or tf.keras 2's wrapper's name
        config = metric.get("config")
        names = [metric.get("class_name"), config.get("name") if isinstance(config, dict) else None]
    return any(isinstance(n, str) and snake_case(n) in ACCURACY_NAMES for n in names)


class _Unsupported(Exception):
    pass
