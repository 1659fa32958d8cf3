"""The optimizers' per-parameter arithmetic compiled into one pass (with numba).

optimizers.py writes each update as a few NumPy vector operations, which is the clearest way to
read it. But every NumPy operation walks all 203,530 parameters once, and Adam needs about a
dozen of them per step - at batch size 32 that is more time than the matrix products. The loops
below do exactly the same arithmetic for each parameter in a single pass, vectorised by the
compiler. tests/test_nn.py checks that both versions give the same numbers.

Each loop is compiled twice: for one core, and split over every core. Which one runs is chosen
for each training run (threads.py sets `optimizer.all_cores`): the split version only while the
matrix products run on a single core, because its threads spin while they wait, and would fight
the BLAS library's own threads for the same cores.

numba is imported on the first training step, not with digitlens, and compiled code is cached on
disk. If numba cannot be imported, `available()` is False and the NumPy versions are used.
"""

import types

from .compiled import Compiled

# The smallest normal float32. Below it numbers are "subnormal", and CPUs compute with them up to
# a hundred times slower. Adam's running mean m of a weight whose gradient stays zero (a border
# pixel no digit touches) shrinks by 0.9 every step and reaches that range after ~800 steps;
# unchecked, a few thousand such values double the time of every training step. Both versions of
# Adam therefore flush m and v to zero below TINY, as TensorFlow does for the whole CPU; the
# effect on the weights is below 1e-26 per step.
TINY = 1.1754944e-38



def available():
    return KERNELS.get() is not None


def adam(all_cores, *args):
    """Adam's update in one pass; all_cores splits it over every core (see threads.py)."""
    KERNELS.run("adam", all_cores, *args)


def sgd_momentum(all_cores, *args):
    KERNELS.run("sgd_momentum", all_cores, *args)


def _compile():
    import numba
    import numpy as np

    tiny = np.float32(TINY)

    def adam(params, grads, m, v, one_minus_beta_1, one_minus_beta_2, alpha, epsilon):
        for i in numba.prange(params.shape[0]):
            g = grads[i]
            m_i = m[i] + (g - m[i]) * one_minus_beta_1
            v_i = v[i] + (g * g - v[i]) * one_minus_beta_2
            m_i = np.float32(0.0) if abs(m_i) < tiny else m_i    # flush to zero, see TINY
            v_i = np.float32(0.0) if v_i < tiny else v_i         # (a NaN stays NaN, as in NumPy)
            m[i] = m_i
            v[i] = v_i
            params[i] -= alpha * m_i / (np.sqrt(v_i) + epsilon)

    def sgd_momentum(params, grads, velocity, learning_rate, momentum, nesterov):
        for i in numba.prange(params.shape[0]):
            vel = momentum * velocity[i] - learning_rate * grads[i]
            velocity[i] = vel
            if nesterov:
                params[i] += momentum * vel - learning_rate * grads[i]
            else:
                params[i] += vel

    kernels = {}
    for name, loop in (("adam", adam), ("sgd_momentum", sgd_momentum)):
        for parallel in (False, True):   # prange is a plain range when not parallel
            # numba names its disk cache after the function: give each variant its own name,
            # or the one-core variant would load the split one from the cache.
            variant = types.FunctionType(loop.__code__, loop.__globals__, name, None, loop.__closure__)
            variant.__qualname__ = f"{name}_{'all_cores' if parallel else 'one_core'}"
            kernels[name, parallel] = numba.njit(variant, parallel=parallel, fastmath=True,
                                                 error_model="numpy", cache=True)
    return kernels


KERNELS = Compiled(_compile)
