"""Learning-rate schedules: how big a step the optimizer takes, as training goes on.

A schedule is called with the optimizer's step count and returns the learning rate for that step.
The names and arithmetic are Keras's (keras.optimizers.schedules), so a schedule survives a trip
through a .keras file.
"""

import math


class LearningRateSchedule:
    def __call__(self, step):
        raise NotImplementedError

    def get_config(self):
        return dict(self.__dict__)


class CosineDecay(LearningRateSchedule):
    """Optionally warm up linearly from `initial_learning_rate` to `warmup_target` over
    `warmup_steps`, then follow half a cosine from the peak down to `alpha` x peak over
    `decay_steps`: big steps while the network is far from good, small ones to settle."""

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, warmup_target=None,
                 warmup_steps=0, name="CosineDecay"):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(decay_steps)
        self.alpha = float(alpha)
        self.warmup_target = None if warmup_target is None else float(warmup_target)
        self.warmup_steps = int(warmup_steps)
        self.name = name

    def __call__(self, step):
        if self.warmup_target is None:
            peak, start = self.initial_learning_rate, 0
        else:
            peak, start = self.warmup_target, self.warmup_steps
            if step < self.warmup_steps:
                fraction = step / self.warmup_steps
                return self.initial_learning_rate + (peak - self.initial_learning_rate) * fraction
        progress = min(step - start, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return peak * ((1.0 - self.alpha) * cosine + self.alpha)


class ExponentialDecay(LearningRateSchedule):
    """lr = initial_learning_rate * decay_rate ** (step / decay_steps), in whole stairs if asked."""

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 name="ExponentialDecay"):
        self.initial_learning_rate = float(initial_learning_rate)
        self.decay_steps = int(decay_steps)
        self.decay_rate = float(decay_rate)
        self.staircase = bool(staircase)
        self.name = name

    def __call__(self, step):
        power = step / self.decay_steps
        if self.staircase:
            power = math.floor(power)
        return self.initial_learning_rate * self.decay_rate ** power


SCHEDULES = {"CosineDecay": CosineDecay, "ExponentialDecay": ExponentialDecay}
