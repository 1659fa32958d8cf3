"""BatchNormalization: bring every channel to mean 0 and variance 1, then let training scale and shift it.

    y = gamma * (x - mean) / sqrt(variance + epsilon) + beta          one gamma and beta per channel

While training, mean and variance are the batch's own, over every example and position of each
channel; each step also moves the layer's running averages towards them,

    moving_mean     = momentum * moving_mean     + (1 - momentum) * mean          momentum 0.99
    moving_variance = momentum * moving_variance + (1 - momentum) * variance

and at prediction those averages stand in for the batch's, so one image is normalised the same way
whatever else is in its batch. gamma and beta are trained by the optimizer (they live in the
model's `params`); the moving averages are not (they live in its `state`, see model.py, and Keras
counts them as Non-trainable params). momentum 0.99 and epsilon 1e-3 are Keras's defaults, and the
variance is the batch's biased one (divided by the count, not count - 1), as Keras computes it.

Backward follows the batch statistics too: each input moves the mean and the variance it is
normalised by, which gives the three-term formula in `backward`. With `use_batch_statistics =
False` the layer normalises by its moving averages while training as well (what Keras does for a
BatchNormalization frozen with trainable = False) and leaves them as they are; then backward is
the plain chain rule through a fixed scale and shift. Left out: an axis other than the last
(channels_last only), renorm, synchronized batches, freezing gamma and beta.
"""

import numpy as np

from .layer import Layer, register, shape_text


@register
class BatchNormalization(Layer):
    trainable = True
    normalization = "batch"
    maps = "normalised maps"     # after a convolution: each channel to mean 0, variance 1

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, name=None,
                 input_shape=None):
        super().__init__(name=name, input_shape=input_shape)
        if isinstance(axis, (list, tuple)) and len(axis) == 1:
            axis = axis[0]
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise ValueError(f"has axis {axis!r}; digitlens normalises the last axis (channels_last)")
        for what, value in (("momentum", momentum), ("epsilon", epsilon)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1 or value != value:
                raise ValueError(f"BatchNormalization {what}: expected a number in [0, 1], received {value!r}")
        self.axis = int(axis)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.use_batch_statistics = True       # False: normalise by the moving averages, even training

    def compute_output_shape(self, input_shape):
        # Keras counts the batch in `axis`: for (N, 26, 26, 32) the channels are axis 3, or -1.
        if self.axis not in (-1, len(input_shape)):
            raise ValueError(f"BatchNormalization layer {self.name!r}: has axis {self.axis}; digitlens "
                             f"normalises the last axis (-1 or {len(input_shape)} for this input)")
        return input_shape

    @property
    def channels(self):
        return self.input_shape[-1]

    def param_shapes(self):
        shapes = {}
        if self.scale:
            shapes["gamma"] = (self.channels,)
        if self.center:
            shapes["beta"] = (self.channels,)
        return shapes

    def state_shapes(self):
        return {"moving_mean": (self.channels,), "moving_variance": (self.channels,)}

    def weight_names(self):
        return (["gamma"] if self.scale else []) + (["beta"] if self.center else []) + [
            "moving_mean", "moving_variance"]

    def initial_values(self, rng):
        c = self.channels
        values = {"moving_mean": np.zeros(c, np.float32), "moving_variance": np.ones(c, np.float32)}
        if self.scale:
            values["gamma"] = np.ones(c, np.float32)
        if self.center:
            values["beta"] = np.zeros(c, np.float32)
        return values

    # ---- forward and backward --------------------------------------------------------------

    def forward(self, x, training=False):
        axes = tuple(range(x.ndim - 1))                      # every example and position of a channel
        by_batch = training and self.use_batch_statistics
        if by_batch:
            mean = x.mean(axis=axes, dtype=np.float32)       # (C,)
            variance = x.var(axis=axes, dtype=np.float32)    # (C,), biased: divided by the count
            keep = np.float32(self.momentum)
            self.moving_mean[...] = self.moving_mean * keep + mean * (1 - keep)
            self.moving_variance[...] = self.moving_variance * keep + variance * (1 - keep)
        else:
            mean, variance = self.moving_mean, self.moving_variance
        inv_std = 1.0 / np.sqrt(variance + np.float32(self.epsilon))   # (C,)
        x_hat = (x - mean) * inv_std                         # (N, ..., C): mean 0, variance 1 per channel
        y = x_hat * self.gamma if self.scale else x_hat.copy()
        if self.center:
            y += self.beta
        if training:
            self.x_hat, self.inv_std, self.by_batch = x_hat, inv_std, by_batch   # kept for backward
        return y.astype(np.float32, copy=False)

    def backward(self, dy):
        """dy = dL/dy -> dL/dx; stores dgamma and dbeta.

        With m values per channel, x_hat = (x - mean) * inv_std, and dx_hat = dy * gamma:
            dx = inv_std / m * (m * dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat))
        the sums over each channel's m values: the last two terms are how x moved the batch's
        mean and variance.
        """
        axes = tuple(range(dy.ndim - 1))
        if self.scale:
            np.sum(dy * self.x_hat, axis=axes, out=self.dgamma)
        if self.center:
            np.sum(dy, axis=axes, out=self.dbeta)
        if not self.needs_input_grad:
            return None
        dx_hat = dy * self.gamma if self.scale else dy
        if not self.by_batch:                                             # a fixed scale and shift
            return dx_hat * self.inv_std
        m = np.float32(dy.size // dy.shape[-1])
        total = dx_hat.sum(axis=axes)                                     # (C,)
        along = (dx_hat * self.x_hat).sum(axis=axes)                      # (C,)
        return (self.inv_std / m) * (m * dx_hat - total - self.x_hat * along)

    # ---- describing itself -----------------------------------------------------------------

    def arithmetic(self):
        c = self.channels
        trained = [name for name, on in (("gamma", self.scale), ("beta", self.center)) if on]
        text = f"{c:,} channels x {len(trained)} ({', '.join(trained)}) = {c * len(trained):,} weights + " if trained else ""
        return text + f"{c:,} x 2 moving statistics (mean, variance), not trained = {self.count_params():,}"

    def what(self):
        return (f"normalises each of its {self.channels:,} channels to mean 0 and variance 1 (by the batch while "
                "training, by moving averages at prediction), then scales by gamma and shifts by beta: "
                f"{shape_text(self.input_shape)} stays {shape_text(self.output_shape)}")

    def label(self):
        return "BatchNorm"

    def get_config(self):
        ones = {"module": "keras.initializers", "class_name": "Ones", "config": {}, "registered_name": None}
        zeros = {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": None}
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "beta_initializer": zeros, "gamma_initializer": ones,
                "moving_mean_initializer": zeros, "moving_variance_initializer": ones,
                "beta_regularizer": None, "gamma_regularizer": None, "beta_constraint": None,
                "gamma_constraint": None, "synchronized": False}

    @classmethod
    def from_config(cls, config):
        if config.get("renorm"):
            raise ValueError("uses renorm; digitlens normalises by the batch's statistics only")
        return cls(axis=config.get("axis", -1), momentum=config.get("momentum", 0.99),
                   epsilon=config.get("epsilon", 1e-3), center=config.get("center", True),
                   scale=config.get("scale", True), name=config.get("name"))
