"""Optimizers: how the gradients become changes to the weights.

After backpropagation every weight w has a gradient g = dL/dw, which says how the loss would
change if w grew. Each optimizer steps every weight against its gradient - strengthening the
connections that would make the right digit more likely, weakening the others:

    SGD        w -= lr * g                        (with momentum: a running velocity)
    RMSprop    w -= lr * g / sqrt(mean of g^2 + eps)
    Adam       w -= lr_t * m / (sqrt(v) + eps),   m and v running means of g and g^2

The arithmetic and defaults are Keras's (keras.optimizers), including Adam's bias correction
lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) with t the step number, counted from 1.

Every parameter of the model lives in one flat float32 array (see model.py), so `apply(params,
grads)` updates them all with a handful of vector operations. For speed, SGD with momentum and
Adam run the same arithmetic compiled into one pass when numba is available (fused.py).
"""

import numpy as np

from . import fused, schedules


class Optimizer:
    name = "optimizer"

    def __init__(self, learning_rate):
        self.learning_rate = learning_rate      # a number or a schedule: step -> rate
        self.iterations = 0                     # steps taken so far
        self.all_cores = False                  # split the fused update over every core (threads.py)

    def current_learning_rate(self):
        return self.learning_rate_at(self.iterations)

    def learning_rate_at(self, step):
        """The learning rate of step `step` (counted from 0): a number, or the schedule's value."""
        if callable(self.learning_rate):
            return float(self.learning_rate(step))
        return float(self.learning_rate)

    def build(self, size):
        """Allocate per-parameter state for `size` parameters (called once by the model)."""
        self.size = size

    def apply(self, params, grads):
        """Update `params` in place from `grads` (both flat float32 arrays) and count the step."""
        self._update(params, grads, self.current_learning_rate())
        self.iterations += 1

    def slots(self):
        """Per-parameter state arrays by name, in Keras's order (for saving)."""
        return {}

    def get_config(self):
        rate = self.learning_rate
        if isinstance(rate, schedules.LearningRateSchedule):
            rate = {"class_name": type(rate).__name__, "config": rate.get_config()}
        return {"name": self.name, "learning_rate": rate}


class SGD(Optimizer):
    name = "SGD"

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        super().__init__(learning_rate)
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def build(self, size):
        super().build(size)
        self.velocity = np.zeros(size, dtype=np.float32) if self.momentum else None

    def _update(self, params, grads, lr):
        if not self.momentum:
            params -= np.float32(lr) * grads
        elif fused.available():
            fused.sgd_momentum(self.all_cores, params, grads, self.velocity, np.float32(lr),
                               np.float32(self.momentum), self.nesterov)
        else:
            self.numpy_momentum_update(params, grads, lr)

    def numpy_momentum_update(self, params, grads, lr):
        # velocity = momentum * velocity - lr * g;  w += velocity   (Nesterov looks one step ahead)
        self.velocity *= self.momentum
        self.velocity -= lr * grads
        if self.nesterov:
            params += self.momentum * self.velocity - lr * grads
        else:
            params += self.velocity

    def slots(self):
        return {"momentum": self.velocity} if self.momentum else {}

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class RMSprop(Optimizer):
    name = "RMSprop"

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7):
        super().__init__(learning_rate)
        self.rho = float(rho)
        self.epsilon = float(epsilon)

    def build(self, size):
        super().build(size)
        self.velocity = np.zeros(size, dtype=np.float32)

    def _update(self, params, grads, lr):
        # velocity = rho * velocity + (1 - rho) * g^2;  w -= lr * g / sqrt(velocity + eps)
        # (Keras puts eps inside the square root here, unlike Adam)
        self.velocity *= self.rho
        self.velocity += (1.0 - self.rho) * np.square(grads)
        params -= np.float32(lr) * grads / np.sqrt(self.velocity + np.float32(self.epsilon))

    def slots(self):
        return {"velocity": self.velocity}

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adam(Optimizer):
    name = "Adam"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        super().__init__(learning_rate)
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)

    def build(self, size):
        super().build(size)
        self.m = np.zeros(size, dtype=np.float32)   # running mean of the gradients
        self.v = np.zeros(size, dtype=np.float32)   # running mean of the squared gradients

    def step_size(self, lr, step=None):
        """lr_t: the learning rate with Adam's correction for m and v starting at zero, for step
        `step` (counted from 0; by default the next one)."""
        t = (self.iterations if step is None else step) + 1
        return lr * np.sqrt(1.0 - self.beta_2 ** t) / (1.0 - self.beta_1 ** t)

    def _update(self, params, grads, lr):
        alpha = self.step_size(lr)
        if fused.available():
            fused.adam(self.all_cores, params, grads, self.m, self.v, np.float32(1.0 - self.beta_1),
                       np.float32(1.0 - self.beta_2), np.float32(alpha), np.float32(self.epsilon))
        else:
            self.numpy_update(params, grads, alpha)

    def numpy_update(self, params, grads, alpha):
        self.m += (grads - self.m) * np.float32(1.0 - self.beta_1)             # m -> mean of g
        self.v += (np.square(grads) - self.v) * np.float32(1.0 - self.beta_2)  # v -> mean of g^2
        self.m[np.abs(self.m) < fused.TINY] = 0.0   # no slow subnormal numbers: see fused.TINY
        self.v[self.v < fused.TINY] = 0.0
        params -= np.float32(alpha) * self.m / (np.sqrt(self.v) + np.float32(self.epsilon))

    def slots(self):
        return {"m": self.m, "v": self.v}

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon}


OPTIMIZERS = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam}


def get(optimizer):
    """An optimizer from a name ("adam") or an optimizer object, as `compile` accepts."""
    if isinstance(optimizer, Optimizer):
        return optimizer
    if isinstance(optimizer, str) and optimizer.lower() in OPTIMIZERS:
        return OPTIMIZERS[optimizer.lower()]()
    raise ValueError(f"unknown optimizer {optimizer!r}: expected one of {', '.join(OPTIMIZERS)} "
                     "or an optimizer object")
