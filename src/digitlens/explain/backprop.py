"""One real step of learning on one image, with every weight's gradient and change.

    step = backprop_step(model, image, label=7)
    step["probs_before"][7], step["probs_after"][7]   # the right digit's probability rises
    step["layers"][0]["gradient"]["kernel"]           # dL/dw for every weight, (784, 256)
    step["layers"][0]["delta"]["kernel"]              # the change the optimizer made, (784, 256)
    step["change_maps"]                               # (256, 28, 28): each hidden neuron's change
    step["filters"][0]["delta"]["kernel"]             # a CNN's first convolution: every weight's change

The numbers are exact because they are made by the code that trains: a twin of the model (same
weights, a copy of the optimizer and its running state) runs its own `train_step` on the one
image, and the change of each weight is read off as twin weight minus original weight. The model
you pass in is not touched.

Which optimizer moves the weights:
  - the model's own, with its state (Adam's running means, the step count), so the change is the
    one training would make next;
  - for a model without an optimizer (weights only, as from a file), plain SGD with Keras's default
    learning rate 0.01. There the change is exactly -learning_rate x gradient, which is the
    lesson's picture: each connection moves in proportion to its blame. A fresh Adam would hide
    that: on its first step (m and v start at zero) every weight with a non-zero gradient moves by
    about learning_rate, whatever the gradient's size, in the direction of -sign(gradient).
  Pass optimizer="sgd" (or an optimizer object) to choose, and learning_rate to override the rate.

Dropout is switched off in the twin, so the step is the same every time it is asked for (in
training, Dropout silences a random set of neurons on every step). That also makes several steps
in a row repeatable: `steps=5` runs five steps on the one image, each from where the last one left
the twin, and reports the fifth, with the loss after every step - watch it fall.

"Strengthened" connections are the weights that grew (the connection now pushes its target up
more, or down less); "weakened" ones shrank. For one image through a ReLU layer the gradient of
weight (pixel i -> neuron j) is pixel_i x blame_j, so each neuron's change map is the image itself,
scaled by how much that neuron should have fired more (blue) or less (red).
"""

import copy

import numpy as np

from ..errors import DigitlensError
from ..nn import losses, optimizers
from ..nn.model import Sequential
from .common import check_unit, image_shape, is_fully_connected, prepare_one

DEFAULT_SGD_RATE = 0.01   # keras.optimizers.SGD's default
MAX_STEPS = 200           # steps in a row on one image: enough to watch the loss fall to nothing


def backprop_step(model, image, label, learning_rate=None, optimizer=None, top=10, steps=1):
    """Take one training step on (image, label) with a twin of the model; report what changed.

    image: (28, 28) or (784,), uint8 or floats 0-1. label: the right class (int).
    optimizer: None (the model's own, else SGD(0.01)), a name ("sgd", "adam", "rmsprop") or an
    optimizer object (copied, not modified). learning_rate: overrides the optimizer's rate.
    steps: how many steps in a row the twin takes on this image (1 to MAX_STEPS); the report is
    about the last one, and "losses" / "label_probs" follow the whole run. The steps are the same
    every time they are asked for, so a page can ask for one more by asking for steps + 1.

    Returns {"label", "loss_before", "loss_after", "probs_before", "probs_after" (lists),
    "prediction_before", "prediction_after", "optimizer": {"name", "learning_rate", "step" (this
    step's number, from 1), "source", "plain_gradient" (True when delta = -rate x gradient)},
    "note", "output_error" (probs - onehot: the blame at the output, list),
    "layers": [per Dense layer {"name", "kernel_shape", "gradient": {"kernel", "bias"},
    "delta": {"kernel", "bias"}, "blame" (dL/dz per unit, list), "top_strengthened",
    "top_weakened"}] (arrays), "top_strengthened", "top_weakened": [(layer name, from, to, delta)]
    over all layers, "change_maps": (units, 28, 28) array of the first layer's weight changes,
    "filters": [per convolution (connectivity "local") {"name", "kernel_shape", "gradient", "delta"
    ({"kernel" (KH, KW, C, F), "bias"}), "before", "after" (its kernel before and after), "change" (each
    filter's size of change, the square root of its summed squared weight changes), "order" (the
    filters from the most changed down)}] (empty for a network without convolutions),
    "steps", "losses" (steps + 1 values: before each step, then after the last), "label_probs" (the
    right class's probability at the same moments)}.
    """
    x = prepare_one(model, image)
    label = check_unit(label, model.output_shape[-1], "label")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= MAX_STEPS:
        raise DigitlensError(f"steps: expected a whole number from 1 to {MAX_STEPS}, received {steps!r}")
    y = np.array([label], dtype=np.intp)
    twin, source = make_twin(model, optimizer, learning_rate)
    loss = model.loss or losses.get("sparse_categorical_crossentropy")

    probs_before = model.predict(x)[0]
    losses_seen, label_probs = [], []
    for _ in range(steps - 1):                 # the earlier steps of a run: only their loss is kept
        losses_seen.append(float(loss(probs_before[None], y)))
        label_probs.append(float(probs_before[label]))
        twin.train_step(x, y)
        probs_before = twin.predict(x)[0]

    opt = twin.optimizer
    about = {"name": opt.name, "learning_rate": opt.current_learning_rate(), "step": opt.iterations + 1,
             "source": source, "plain_gradient": isinstance(opt, optimizers.SGD) and not opt.momentum}
    note = _note(opt, source)

    before = twin.params.copy()
    twin.train_step(x, y)                      # forward, loss, backward, optimizer: the real step
    gradient = twin.grads.copy()
    delta = twin.params - before
    probs_after = twin.predict(x)[0]
    layers = _per_layer(model, twin, gradient, delta, top)
    every = [(row["name"], i, j, d) for row in layers for (_, i, j, d) in row["top_strengthened"]]
    worst = [(row["name"], i, j, d) for row in layers for (_, i, j, d) in row["top_weakened"]]
    first = layers[0]
    height, width = image_shape(model)
    change_maps = None
    if first["kernel_shape"][0] == height * width:
        change_maps = np.ascontiguousarray(first["delta"]["kernel"].T).reshape(-1, height, width)
    onehot = np.zeros_like(probs_before)
    onehot[label] = 1.0
    return {"label": label,
            "loss_before": float(loss(probs_before[None], y)),
            "loss_after": float(loss(probs_after[None], y)),
            "probs_before": probs_before.tolist(), "probs_after": probs_after.tolist(),
            "prediction_before": int(np.argmax(probs_before)),
            "prediction_after": int(np.argmax(probs_after)),
            "optimizer": about, "note": note,
            "output_error": (probs_before - onehot).tolist(),
            "layers": layers,
            "top_strengthened": sorted(every, key=lambda c: -c[3])[:top],
            "top_weakened": sorted(worst, key=lambda c: c[3])[:top],
            "change_maps": change_maps, "filters": _filter_changes(model, twin, gradient, delta),
            "steps": int(steps),
            "losses": losses_seen + [float(loss(probs_before[None], y)), float(loss(probs_after[None], y))],
            "label_probs": label_probs + [float(probs_before[label]), float(probs_after[label])]}


def make_twin(model, optimizer=None, learning_rate=None):
    """A separate model with the same layers, weights and optimizer state; Dropout switched off.

    Returns (twin, source) where source says where its optimizer came from: "model", "default
    SGD", "default SGD, schedule finished" or "given". Changing the twin never changes `model`.
    """
    model._require_built()
    # Same settings (Dropout switched off); build() gives the twin its own weights.
    layers = [layer.deterministic_copy() for layer in model.layers]
    twin = Sequential(layers, name=model.name)
    twin.build(model.input_shape)
    twin.params[...] = model.params
    twin.state[...] = model.state
    twin.loss = model.loss or losses.get("sparse_categorical_crossentropy")

    # A learning-rate schedule that has decayed to zero (digitlens's default recipe ends there)
    # would make the step change nothing, which teaches nothing: use plain SGD then too.
    finished = model.optimizer is not None and model.optimizer.current_learning_rate() < 1e-9
    if optimizer is None and model.optimizer is not None and not finished:
        twin.optimizer, source = copy.deepcopy(model.optimizer), "model"
    elif optimizer is None:
        twin.optimizer = optimizers.SGD(DEFAULT_SGD_RATE)
        source = "default SGD, schedule finished" if finished else "default SGD"
        twin.optimizer.build(twin.params.size)
    else:
        twin.optimizer, source = copy.deepcopy(optimizers.get(optimizer)), "given"
        if not hasattr(twin.optimizer, "size"):
            twin.optimizer.build(twin.params.size)
    if learning_rate is not None:
        twin.optimizer.learning_rate = float(learning_rate)
    return twin, source


def _per_layer(model, twin, gradient, delta, top):
    rows = []
    offset = 0
    for layer in twin.layers:
        shapes = layer.param_shapes()
        if not is_fully_connected(layer):
            offset += sum(int(np.prod(s)) for s in shapes.values())
            continue
        parts = {}
        for key, shape in shapes.items():
            size = int(np.prod(shape))
            parts[key] = (gradient[offset:offset + size].reshape(shape),
                          delta[offset:offset + size].reshape(shape))
            offset += size
        grad_kernel, delta_kernel = parts["kernel"]
        grad_bias, delta_bias = parts.get("bias", (np.zeros(layer.units, np.float32),) * 2)
        flat = delta_kernel.ravel()
        up = np.argsort(-flat, kind="stable")[:top]
        down = np.argsort(flat, kind="stable")[:top]
        units = layer.units
        rows.append({"name": layer.name, "kernel_shape": list(delta_kernel.shape),
                     "gradient": {"kernel": grad_kernel, "bias": grad_bias},
                     "delta": {"kernel": delta_kernel, "bias": delta_bias},
                     # one image: dL/dbias_j = dL/dz_j, the blame each unit receives
                     "blame": grad_bias.tolist(),
                     "top_strengthened": [(layer.name, int(k // units), int(k % units), float(flat[k]))
                                          for k in up if flat[k] > 0],
                     "top_weakened": [(layer.name, int(k // units), int(k % units), float(flat[k]))
                                      for k in down if flat[k] < 0]})
    return rows


def _slices(twin, flat):
    """{layer name: {parameter name: its part of the flat array `flat`}}, in the model's layout:
    layer by layer, each layer's parameters in its param_shapes() order."""
    out, offset = {}, 0
    for layer in twin.layers:
        parts = {}
        for key, shape in layer.param_shapes().items():
            size = int(np.prod(shape))
            parts[key] = flat[offset:offset + size].reshape(shape)
            offset += size
        out[layer.name] = parts
    return out


def _filter_changes(model, twin, gradient, delta):
    """What the step did to each filter of each convolution (read from the layers' descriptions)."""
    gradients, deltas = _slices(twin, gradient), _slices(twin, delta)
    befores, afters = _slices(twin, model.params), _slices(twin, twin.params)
    rows = []
    for layer in twin.layers:
        d = layer.describe()
        if d.connectivity != "local":
            continue
        change = np.sqrt((deltas[d.name]["kernel"].astype(np.float64) ** 2).reshape(-1, d.units).sum(axis=0))
        zeros = np.zeros(d.units, np.float32)
        rows.append({"name": d.name, "kernel_shape": list(d.params["kernel"]),
                     "gradient": {"kernel": gradients[d.name]["kernel"], "bias": gradients[d.name].get("bias", zeros)},
                     "delta": {"kernel": deltas[d.name]["kernel"], "bias": deltas[d.name].get("bias", zeros)},
                     "before": befores[d.name]["kernel"].copy(), "after": afters[d.name]["kernel"].copy(),
                     "change": change,
                     "order": np.argsort(-change, kind="stable").tolist()})
    return rows


def _note(optimizer, source):
    name = optimizer.name
    rate = optimizer.current_learning_rate()
    if name == "SGD" and not optimizer.momentum:
        text = f"SGD: every weight changes by exactly -{rate:g} x its gradient."
    elif name == "Adam" and optimizer.iterations == 0:
        text = (f"Adam's first step: every weight with a non-zero gradient moves by about {rate:g} "
                "against the sign of its gradient, whatever the gradient's size.")
    elif name == "Adam":
        text = (f"Adam after {optimizer.iterations:,} steps: each change is the gradient's running mean "
                "divided by its running size, so it also carries the memory of earlier batches.")
    else:
        text = f"{name}: the change follows the optimizer's own update rule."
    if source == "default SGD":
        text = "This model has no optimizer, so the step uses plain SGD (learning rate 0.01). " + text
    elif source == "default SGD, schedule finished":
        text = ("Training ended with its learning rate decayed to 0, so the model's own optimizer "
                "would change nothing; the step uses plain SGD (learning rate 0.01). " + text)
    return text
