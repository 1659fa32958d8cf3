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
slice of the first layer per core. Whether that helps depends on the machine at that moment, so
a training run simply tries both at the start of every epoch and keeps the faster (`CoreChoice`;
both give the same numbers, to the bit). Prediction, a single call, asks `compiled_threads`.
"""

import os


def machine_busy(cores):
    """True when the other programs already keep about every core busy (the 1-minute load)."""
    return hasattr(os, "getloadavg") and os.getloadavg()[0] > cores - 0.5


def crowded(cores):
    """True when other programs clearly keep every core busy: the 1-minute load is more than
    this program could make by itself with `cores` threads, plus half a core. (Unlike
    machine_busy, a program's own threads cannot make it true.)"""
    return hasattr(os, "getloadavg") and os.getloadavg()[0] > cores + 0.5


def available_cores():
    """The cores the compiled loops may use: all of them, or fewer if NUMBA_NUM_THREADS says so."""
    cores = os.cpu_count() or 1
    if os.environ.get("NUMBA_NUM_THREADS", "").isdigit():
        cores = min(cores, int(os.environ["NUMBA_NUM_THREADS"]))
    return max(cores, 1)


def compiled_threads():
    """How many cores a compiled prediction splits its work over: every available core, or one
    when other programs crowd them."""
    cores = available_cores()
    return 1 if cores <= 1 or crowded(cores) else cores


class CoreChoice:
    """One core or all of them for the compiled training steps, chosen by trying both.

    At the start of each epoch (`reset`), calls of a few steps alternate between the two - one
    core, all cores, one core, all cores - and the rest of the epoch runs the faster: on a quiet
    machine, all cores; on a shared one, where a thread waiting for a core holds the others up,
    often one (a step was seen to take 20x longer). When one kind is twice as slow as the other
    at the first try, the second is skipped; and when other programs clearly keep every core
    busy (the 1-minute load exceeds the cores this run could fill itself, plus half a core),
    nothing is tried: one core. `next()` says which to run and at most how many steps;
    `record` takes the time."""

    TRIALS = 2          # calls of each kind
    TRIAL_STEPS = 2     # steps per trial call: few, since the slow kind can be very slow

    def __init__(self, cores):
        self.cores = cores
        self.reset()

    def reset(self):
        self.seconds = {False: [], True: []}       # per step, by "all cores?"
        self.chosen = None if self.cores > 1 and not crowded(self.cores) else False

    def next(self):
        """(all cores?, the most steps this call may run: None for no limit)."""
        if self.chosen is not None:
            return self.chosen, None
        return len(self.seconds[False]) > len(self.seconds[True]), self.TRIAL_STEPS

    def record(self, all_cores, seconds, steps):
        if self.chosen is not None or steps == 0:
            return
        self.seconds[all_cores].append(seconds / steps)
        tries = min(len(times) for times in self.seconds.values())
        best = {kind: min(times) for kind, times in self.seconds.items() if times}
        if tries >= self.TRIALS or (tries == 1 and max(best.values()) > 2 * min(best.values())):
            self.chosen = best[True] < best[False]


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
