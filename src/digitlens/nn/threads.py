"""How training shares the cores: threads for the matrix products and for the optimizer.

Two kinds of work in a training step can use several cores: the matrix products (the BLAS
library numpy uses) and the optimizer's update (fused.py). Their threads wait for each other by
spinning, so the two must never compete for the same cores.

- Small batches: a (32, 784) @ (784, 256) product is faster on one thread - splitting it costs
  more in hand-over than it saves - so BLAS gets one core and the optimizer's update, which walks
  all 203,530 parameters, is split over every core.
- Large batches: the products are big enough to share, so BLAS gets every core and the update
  runs on one.
- A busy machine: a thread that has to queue for a core makes all the others wait for it - a
  0.3 ms step became 20 ms on a shared 2-core machine - so everything runs on one core.

The fast path's compiled loops (fast_kernels.py) use no BLAS: they split their own work, one
slice of the first layer per core, unless the machine is busy (`compiled_threads`).
"""

import os


def machine_busy(cores):
    """True when the other programs already keep about every core busy (the 1-minute load)."""
    return hasattr(os, "getloadavg") and os.getloadavg()[0] > cores - 0.5


def compiled_threads():
    """How many cores the compiled loops split their work over: every core numba may use, or
    one when the machine is busy."""
    cores = os.cpu_count() or 1
    if os.environ.get("NUMBA_NUM_THREADS", "").isdigit():
        cores = min(cores, int(os.environ["NUMBA_NUM_THREADS"]))
    return 1 if cores <= 1 or machine_busy(cores) else cores


class training_threads:
    """A context for one training run: sets BLAS threads and the optimizer's, then restores them."""

    def __init__(self, batch_size, optimizer):
        self.optimizer = optimizer
        cores = os.cpu_count() or 1
        busy = machine_busy(cores)
        small = batch_size <= 64
        self.blas_threads = 1 if small or busy else None          # None: BLAS's own default
        self.optimizer_on_all_cores = small and not busy and cores > 1

    def __enter__(self):
        self.limiter = None
        if self.blas_threads is not None:
            from threadpoolctl import threadpool_limits
            self.limiter = threadpool_limits(limits=self.blas_threads, user_api="blas")
        self.optimizer.all_cores = self.optimizer_on_all_cores
        return self

    def __exit__(self, *exc):
        self.optimizer.all_cores = False
        if self.limiter is not None:
            self.limiter.restore_original_limits()
