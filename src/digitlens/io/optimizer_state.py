"""Optimizer state in Keras files, shared by the .keras and .h5 formats.

A trained Keras model stores its optimizer's variables, in Keras's order:

    iteration, learning_rate (absent with a schedule), then for each weight of the model
    (dense kernel, dense bias, dense_1 kernel, ...) its slots: Adam m and v, SGD momentum,
    RMSprop velocity.

digitlens keeps each slot as one flat array over all parameters (see nn/optimizers.py); here it is
cut into Keras's per-weight arrays and put back together. With the optimizer's settings
(keras_compile.py), the weights and this state, either program can continue training where the
other stopped. State that does not fit the model leaves a fresh optimizer, with a warning.
"""

import math
import warnings

import numpy as np

from ..nn import optimizers, schedules
from .keras_compile import keras_optimizer
from .keras_layers import snake_case


# ---- writing ----------------------------------------------------------------------------------

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
