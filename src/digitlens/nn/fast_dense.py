"""The fast path for stacks of Dense layers: training and prediction through compiled loops.

The layers' NumPy code (layers.py) and the model's four-line train_step (model.py) are the
reference: what a learner reads, and what the fast path is tested against. For the models the
lesson and the course build - Flatten, Dense and Dropout - the same arithmetic also exists as
compiled loops (fast_kernels.py) that skip the zeros of the input, keep each row in the cache
while its bias, activation and update are applied, and split the first layer over the cores.
This module decides when those loops may run and drives them:

    plan = plan_for(model)      # a Plan, or None when the fast path does not cover the model
    why_not(model)              # why not, in a few words (None when it does)
    FastSteps(plan, ...)        # a fit's steps (training.py calls it through `steps_for`)
    predictor(model)            # model.predict's compiled forward pass, or None

It covers a Sequential model of Flatten, Dense (linear, relu, sigmoid, tanh or softmax, with or
without bias) and Dropout layers (not last), trained with sparse categorical cross-entropy by
SGD (with or without momentum, Nesterov), RMSprop or Adam, with any learning-rate schedule and
with or without augmentation. Anything else - another layer, loss or optimizer, a subclass of
one, anything added later - is refused and the reference runs, as it also does when numba is
missing, when DIGITLENS_REFERENCE=1 is set, or for a model compiled with jit_compile=False.

Callbacks still hear about every step, with the same logs. The loops may run several steps in
one call (fewer calls from Python); each callback's `step_boundaries(epoch, steps)` (see
callbacks.py) says after which steps it needs the model exactly as that step left it - to read
the weights, pause or stop training - and a call never runs past one of those. A callback that
does not say so, and listens to batches, gets every step as its own call.
"""

import bisect
import math
import os
import time
import weakref

import numpy as np

from . import activations, losses, optimizers
from .layers import Dense, Dropout, Flatten
from .compiled import Compiled, one_parallel_call_at_a_time
from .threads import CoreChoice, available_cores, compiled_threads

ACTIVATION_CODES = {"linear": 0, "relu": 1, "sigmoid": 2, "tanh": 3, "softmax": 4}
STEPS_PER_CALL = 64          # at most, so progress bars and live curves move smoothly
PREDICT_BLOCK = 32           # images per block when prediction is split over the cores
ALL_CORES_FROM = 256         # images: fewer are predicted on one core (no hand-over between cores)

_plans = weakref.WeakKeyDictionary()


def _import_kernels():
    from . import fast_kernels          # compiles (or loads from numba's disk cache) on import
    return fast_kernels.KERNELS


LOOPS = Compiled(_import_kernels)


def kernels():
    """fast_kernels.KERNELS, or None if numba is missing, switched off, or cannot compile here."""
    return LOOPS.get()


# ---- which models: the plan ----------------------------------------------------------------

class Plan:
    """A model's layout for the compiled loops: its Dense layers in a table, the Dropouts before
    each, and where every kernel and bias lives in the model's flat `params`."""

    def __init__(self, model, dense, dropouts):
        self.model = model
        self.params = model.params
        self.dense = dense                   # the Dense layers, in order
        self.dropouts = [d for group in dropouts for d in group]   # Dropout layers, in order
        self.signature = signature(model)
        self.width = dense[0].input_shape[0]
        self.classes = dense[-1].units
        rows = []
        first = 0
        for layer, group in zip(dense, dropouts):
            rows.append([layer.input_shape[0], layer.units, offset_in(layer.kernel, model.params),
                         offset_in(layer.bias, model.params) if layer.use_bias else -1,
                         ACTIVATION_CODES[layer.activation.name], 0, 0, first, len(group), 0])
            first += len(group)
        self.table = np.array(rows, dtype=np.int64)
        self.table[:, 9] = np.concatenate([[0], np.cumsum(self.table[:, 0] * self.table[:, 1])[:-1]])
        self.transposed_size = int((self.table[:, 0] * self.table[:, 1]).sum())
        self.rates = np.array([d.rate for d in self.dropouts], dtype=np.float32)
        self.scales = np.array([np.float32(1.0 / (1.0 - d.rate)) for d in self.dropouts], dtype=np.float32)
        # each Dropout's width: the number of inputs of the Dense layer it feeds
        self.drop_widths = [layer.input_shape[0] for layer, group in zip(dense, dropouts) for _ in group]

    def table_for(self, batch):
        """The table with each layer's output and input placed in work arrays for `batch` rows."""
        table = self.table.copy()
        units, inputs = table[:, 1], table[:, 0]
        table[:, 5] = batch * np.concatenate([[0], np.cumsum(units)[:-1]])
        table[1:, 6] = batch * np.concatenate([[0], np.cumsum(inputs[1:])[:-1]])
        return table


def offset_in(view, flat):
    """Where the contiguous array `view` starts inside the 1-D float32 array `flat`."""
    start = view.__array_interface__["data"][0] - flat.__array_interface__["data"][0]
    if not view.flags.c_contiguous or start % flat.itemsize or not 0 <= start < flat.nbytes:
        raise ValueError("a layer's weights are not a view of the model's params")
    return start // flat.itemsize


def signature(model):
    """What the plan depends on: the layers, their settings, and the params array."""
    return (id(model.params), tuple((id(layer), type(layer), getattr(layer, "activation", None),
                                     getattr(layer, "use_bias", None), getattr(layer, "rate", None),
                                     getattr(layer, "trainable", None)) for layer in model.layers))


def why_not(model, training=False):
    """Why the fast path does not cover this model (None when it does). training: also check the
    loss and the optimizer."""
    if os.environ.get("DIGITLENS_REFERENCE"):
        return "DIGITLENS_REFERENCE is set"
    if getattr(model, "jit_compile", "auto") is False:
        return "compiled with jit_compile=False"
    if not getattr(model, "built", False):
        return "the model is not built"
    layers = model.layers
    for layer in layers:
        if not _plain(layer, (Flatten, Dense, Dropout)):
            return f"layer {layer.name!r} is a {type(layer).__name__}"
        if layer.kind == "Dense" and (layer.activation is not activations.ACTIVATIONS.get(layer.activation.name)
                                      or layer.trainable is not True):
            return f"layer {layer.name!r} has an activation or setting the fast path does not know"
    dense = [layer for layer in layers if layer.kind == "Dense"]
    if not dense:
        return "the model has no Dense layer"
    if layers[-1].kind != "Dense":
        return "the last layer is not a Dense layer"
    if len(dense[0].input_shape) != 1:
        return "the first Dense layer's input is not flat"
    if model.state.size:
        return "the model has non-trainable state"
    if training:
        loss = model.loss
        if type(loss) is not losses.SparseCategoricalCrossentropy or loss.from_logits:
            return f"the loss is {getattr(loss, 'name', loss)!r}"
        if type(model.optimizer) not in (optimizers.SGD, optimizers.RMSprop, optimizers.Adam):
            return f"the optimizer is {getattr(model.optimizer, 'name', model.optimizer)!r}"
    if kernels() is None:
        return "numba is not available"
    return None


MAKING_ONLY = {"__init__", "__doc__", "__module__", "__qualname__", "__firstlineno__", "__static_attributes__"}


def _plain(layer, classes):
    """True for a layer of one of nn's `classes` whose arithmetic is nn's own: the class itself or
    a subclass that only changes how it is made (digitlens.keras's Dense takes Keras's arguments).
    A subclass that defines anything else may compute anything, and is refused."""
    base = next((c for c in classes if c.__name__ == layer.kind), None)
    if base is None or not isinstance(layer, base):
        return False
    between = type(layer).__mro__[:type(layer).__mro__.index(base)]
    return all(set(vars(cls)) <= MAKING_ONLY for cls in between)


def plan_for(model, training=False):
    """The model's Plan if the fast path covers it (see why_not), else None."""
    if why_not(model, training) is not None:
        return None
    plan = _plans.get(model)
    if plan is None or plan.signature != signature(model):
        dense, dropouts, waiting = [], [], []
        for layer in model.layers:
            if layer.kind == "Dropout" and layer.rate > 0.0:
                waiting.append(layer)
            elif layer.kind == "Dense":
                dense.append(layer)
                dropouts.append(waiting)
                waiting = []
        plan = _plans[model] = Plan(model, dense, dropouts)
    return plan


# ---- training ------------------------------------------------------------------------------

def steps_for(model, x, y, batch_size, hooks, augment=None):
    """FastSteps for this fit when the fast path covers the model, else None (see training.py)."""
    plan = plan_for(model, training=True)
    return None if plan is None else FastSteps(plan, x, y, batch_size, hooks, augment)


class FastSteps:
    """A fit's training steps through the compiled loops; the same interface as
    training.ReferenceSteps: `run(epoch, order, before)` yields (step, batch size, loss, right answers)
    for each step of the epoch, after the step; `last_batch()` is the last batch trained on."""

    def __init__(self, plan, x, y, batch_size, hooks, augment=None):
        self.plan, self.model = plan, plan.model
        self.x, self.y, self.batch, self.hooks, self.augment = x, y, batch_size, hooks, augment
        self.data = x.reshape(len(x), -1)
        threads = available_cores()
        # The first layer's kernel is cut into one stretch of rows per core (fast_kernels.train_steps),
        # whether the parts then run on one core or on all of them.
        self.cuts = kernels()["row_cuts"](plan.width, threads)
        # Every image's non-zero pixels, listed once (about a fifth of MNIST's; 28 MB for all of
        # it): each step then reads its images' lists instead of looking at all 784 pixels.
        self.ink = self.training_lists(self.data) if augment is None else None
        self.scale = np.float32(1.0 / 255.0) if x.dtype == np.uint8 else np.float32(1.0)
        self.table = plan.table_for(batch_size)
        self.optimizer_setup()
        self.cores = CoreChoice(threads)
        self.cores_available = threads
        b, width = batch_size, plan.width
        self.work = dict(
            begin=np.empty((threads, b), np.int64), end=np.empty((threads, b), np.int64),
            idx=np.empty(b * width, np.int32), val=np.empty(b * width, np.float32),
            counts=np.empty(width, np.int64),
            cimg=np.empty(b * width, np.int32), cval=np.empty(b * width, np.float32),
            z_parts=np.zeros((threads, b, plan.table[0, 1]), np.float32),
            # each part's gradients of the later layers, at their places in params (only those
            # places are ever written, so the first layer's share of this is never touched)
            part_grads=np.empty((threads, len(plan.params)), np.float32),
            acts=np.empty(b * int(plan.table[:, 1].sum()), np.float32),
            inputs=np.empty(b * max(1, int(plan.table[1:, 0].sum())), np.float32),
            dacts=np.empty(b * int(plan.table[:, 1].sum()), np.float32),
            dinputs=np.empty(b * max(1, int(plan.table[1:, 0].sum())), np.float32),
            kernels_t=np.empty(plan.transposed_size, np.float32))
        self.last = None
        # Load (or, the first time ever, compile) the loops now, before any epoch's clock starts.
        if augment is None:
            ink, scale = self.ink, self.scale
        else:          # augmented batches are floats
            ink, scale = self.training_lists(scaled(x[:1]).reshape(1, -1)), np.float32(1.0)
        for all_cores in sorted({False, threads > 1}):
            self.call(ink, self.y, np.arange(min(len(x), batch_size)), 0, 0, batch_size, scale, all_cores)

    def training_lists(self, data):
        """(positions, values, splits): ink_lists's, and where each row's list crosses the parts."""
        starts, positions, values = ink_lists(data)
        splits = np.empty((len(data), len(self.cuts)), np.int64)
        kernels()["split_ink"](starts, positions, self.cuts, splits)
        return positions, values, splits

    def optimizer_setup(self):
        """The optimizer as the loops know it: a code, its settings, and its per-parameter state."""
        opt = self.model.optimizer
        none = np.empty(0, np.float32)
        if type(opt) is optimizers.Adam:
            self.opt, self.slots = 0, (opt.m, opt.v)
            self.hyper = np.array([1.0 - opt.beta_1, 1.0 - opt.beta_2, opt.epsilon], np.float32)
        elif type(opt) is optimizers.SGD and not opt.momentum:
            self.opt, self.slots, self.hyper = 1, (none, none), np.zeros(3, np.float32)
        elif type(opt) is optimizers.SGD:
            self.opt, self.slots = 2, (opt.velocity, none)
            self.hyper = np.array([opt.momentum, 1.0 if opt.nesterov else 0.0, 0.0], np.float32)
        else:
            self.opt, self.slots = 3, (opt.velocity, none)
            self.hyper = np.array([opt.rho, 1.0 - opt.rho, opt.epsilon], np.float32)

    def step_rates(self, count):
        """The learning rate of each of the next `count` steps (Adam: its lr_t), as apply() computes it."""
        opt = self.model.optimizer
        rates = np.empty(count, np.float32)
        for s in range(count):
            step = opt.iterations + s
            rate = opt.learning_rate_at(step)
            rates[s] = opt.step_size(rate, step) if self.opt == 0 else rate
        return rates

    def noise(self, sizes):
        """Each Dropout's random numbers for steps of `sizes` images, drawn from its own generator
        exactly as the reference draws them, and where step s's start for each Dropout."""
        at = np.zeros((len(sizes), len(self.plan.dropouts)), np.int64)
        if not self.plan.dropouts or not sizes:
            return np.empty(0, np.float32), at
        chunks, base = [], 0
        before = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        for d, (layer, width) in enumerate(zip(self.plan.dropouts, self.plan.drop_widths)):
            chunks.append(layer.rng.random(int(sum(sizes)) * width, dtype=np.float32))
            at[:, d] = base + before * width
            base += chunks[-1].size
        return np.concatenate(chunks), at

    def boundaries(self, epoch, steps):
        """The steps after which some callback needs the model as that step left it (None: all)."""
        return self.hooks.step_boundaries(epoch, steps)

    def call(self, ink, labels, order, first, count, batch, scale, all_cores=None):
        """Run steps first .. first + count - 1 in one compiled call: (sizes, losses, rights).
        ink: the images as index_ink lists them.
        all_cores: split the first layer over every core (None: as CoreChoice says, and limit
        count to its trial length)."""
        chosen = all_cores
        if chosen is None:
            chosen, most = self.cores.next()
            count = count if most is None else min(count, most)
        started = time.perf_counter()
        sizes = [min(batch, len(order) - (first + s) * batch) for s in range(count)]
        noise, at = self.noise(sizes)
        losses_, rights = np.empty(count, np.float64), np.empty(count, np.int64)
        slot1, slot2 = self.slots
        args = (*ink, self.cuts, order, labels, first, count, batch, scale,
                self.table, self.plan.rates, self.plan.scales, noise, at, self.model.params,
                self.model.grads, slot1, slot2, self.opt, self.hyper, self.step_rates(count),
                *self.work.values(), losses_, rights)
        kernel = kernels()["train_steps", chosen]
        if chosen:
            with one_parallel_call_at_a_time:      # numba's thread pool: one caller at a time
                kernel(*args)
        else:
            kernel(*args)
        self.model.optimizer.iterations += count
        if all_cores is None:
            self.cores.record(chosen, time.perf_counter() - started, count)
        return sizes, losses_, rights

    def run(self, epoch, order, before=None):
        steps = math.ceil(len(order) / self.batch)
        if self.augment is not None:
            yield from self.run_augmented(order, steps, before)
            return
        wanted = None if before is not None else self.boundaries(epoch, steps)   # before: one step a call
        self.cores.reset()                 # one core or all: tried again each epoch
        step = 0
        while step < steps:
            count = 1
            if wanted is not None:         # up to the next boundary, at most STEPS_PER_CALL steps
                end = min(steps, step + STEPS_PER_CALL)
                at = bisect.bisect_left(wanted, step)
                if at < len(wanted) and wanted[at] < end:
                    end = wanted[at] + 1
                count = end - step
            if before is not None:
                before(step)
            sizes, losses_, rights = self.call(self.ink, self.y, order, step, count, self.batch, self.scale)
            count = len(sizes)             # (fewer while CoreChoice tries one core and all)
            self.last = order[(step + count - 1) * self.batch:(step + count) * self.batch]
            for s in range(count):
                yield step + s, sizes[s], float(losses_[s] / sizes[s]), int(rights[s])
            step += count

    def run_augmented(self, order, steps, before=None):
        # augment works on NumPy batches: each step's batch is scaled and changed as the reference
        # does it, then trained on by the loops (as data of its own, in order).
        self.cores.reset()
        for step in range(steps):
            if before is not None:
                before(step)
            idx = order[step * self.batch:(step + 1) * self.batch]
            xb = scaled(self.x[idx])
            xb = np.ascontiguousarray(self.augment(xb, self.model.rng), dtype=np.float32)
            ink = self.training_lists(xb.reshape(len(idx), -1))
            sizes, losses_, rights = self.call(ink, self.y[idx], np.arange(len(idx)), 0, 1, len(idx),
                                               np.float32(1.0))
            self.last, self.last_x = idx, xb
            yield step, sizes[0], float(losses_[0] / sizes[0]), int(rights[0])

    def last_batch(self):
        """{"x", "y"}: the last batch trained on, as the reference keeps it (model.last_batch)."""
        if self.last is None:
            return None
        if self.augment is not None:
            return {"x": self.last_x.copy(), "y": self.y[self.last].copy()}
        return {"x": scaled(self.x[self.last]), "y": self.y[self.last].copy()}


def ink_lists(data):
    """(starts, positions, values): each row's non-zero entries (fast_kernels.list_ink)."""
    starts = np.empty(len(data) + 1, np.int64)
    total = kernels()["count_ink"](data, starts)
    positions = np.empty(total + 1, np.int16 if data.shape[1] <= 32767 else np.int32)   # (+1: see list_ink)
    values = np.empty(total + 1, data.dtype)
    kernels()["list_ink"](data, starts, positions, values)
    return starts, positions[:total], values[:total]


def scaled(x):
    """A batch as the reference trains on it: uint8 pixels times 1/255 in float32, floats as given."""
    if x.dtype == np.uint8:
        return np.multiply(x, np.float32(1.0 / 255.0))
    return x.astype(np.float32)


# ---- prediction ----------------------------------------------------------------------------

def predictor(model):
    """model.predict's compiled forward pass: a function of prepared inputs (uint8 kept as they
    are) -> outputs (N, classes), or None when the fast path does not cover the model."""
    plan = plan_for(model)
    if plan is None:
        return None

    def forward(x):
        data = x.reshape(len(x), -1)
        scale = np.float32(1.0 / 255.0) if x.dtype == np.uint8 else np.float32(1.0)
        out = np.empty((len(x), plan.classes), dtype=np.float32)
        parallel = len(x) >= ALL_CORES_FROM and compiled_threads() > 1
        kernel = kernels()["predict", parallel]
        args = (data, scale, plan.table, plan.params, np.empty(plan.transposed_size, np.float32), out,
                PREDICT_BLOCK)
        if parallel:
            from .fast_kernels import one_at_a_time
            with one_parallel_call_at_a_time:      # numba's thread pool: one caller at a time
                one_at_a_time(kernel, *args)
        else:
            kernel(*args)
        return out

    return forward
