"""How training shares the cores: threads for the matrix products, the optimizer and the convolutions.

Three kinds of work in a training step can use several cores: the matrix products (the BLAS
library numpy uses), the optimizer's update (fused.py) and a convolutional network's compiled
copies and passes (conv_kernels.py). Their threads wait for each other by spinning, so BLAS must
never compete with the other two for the same cores.

- Small batches: a (32, 784) @ (784, 256) product is faster on one thread - splitting it costs
  more in hand-over than it saves - so BLAS gets one core and the optimizer's update, which walks
  all 203,530 parameters, is split over every core, as are the convolutions' loops (a fused
  Conv2D -> MaxPooling2D step shares its pieces of the batch between the cores' threads).
- Large batches: the products are big enough to share, so BLAS gets every core and the update
  and the convolutions' loops run on one.
- A busy machine: a thread that has to queue for a core makes all the others wait for it - a
  0.3 ms step became 20 ms on a shared 2-core machine - so everything runs on one core.
- Prediction (large batches): the batch is cut into pieces that run in parallel threads, each on
  one core, instead of sharing each product (prediction_threads).

The fast path's compiled loops (fast_kernels.py) use no BLAS: they split their own work, one
slice of the first layer per core. Whether that helps depends on the machine at that moment, so
a training run simply tries both at the start of every epoch and keeps the faster (`CoreChoice`;
both give the same numbers, to the bit). Prediction, a single call, asks `compiled_threads`.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_limit_lock = threading.Lock()
_one_thread_users = 0          # contexts that hold BLAS at one thread; the last one out restores it
_limiter = None


def busy(cores=None):
    """True when other programs keep the cores busy: then threads that wait for each other by
    spinning lose more than they gain, and everything runs on one core."""
    cores = cores or os.cpu_count() or 1
    return hasattr(os, "getloadavg") and os.getloadavg()[0] > cores - 0.5


class one_blas_thread:
    """A context that holds BLAS at one thread; contexts may overlap (training and prediction in
    two threads at once): BLAS gets its own threads back when the last one ends, whichever thread
    that is."""

    def __enter__(self):
        global _one_thread_users, _limiter
        with _limit_lock:
            if _one_thread_users == 0:
                from threadpoolctl import threadpool_limits
                _take_control()
                _limiter = threadpool_limits(limits=1, user_api="blas")
            _one_thread_users += 1
        return self

    def __exit__(self, *exc):
        global _one_thread_users, _limiter
        with _limit_lock:
            _one_thread_users -= 1
            if _one_thread_users == 0:
                _take_control()
                _limiter.restore_original_limits()
                _limiter = None
                _take_control()


def _take_control():
    """threadpoolctl lets only the first thread that limits OpenBLAS change it again, and
    ignores the others; this module's lock decides instead, so any thread may set or restore."""
    try:
        from threadpoolctl import OpenBLASController
    except ImportError:             # an older threadpoolctl, which has no such rule
        return
    OpenBLASController.clear_controlling_thread(force=True)


def crowded(cores):
    """True when other programs clearly keep every core busy: the 1-minute load is more than
    this program could make by itself with `cores` threads, plus half a core. (Unlike
    busy, a program's own threads cannot make it true.)"""
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
        loaded = busy(cores)
        small = batch_size <= 64
        self.limiter = one_blas_thread() if small or loaded else None   # None: BLAS's own default
        self.optimizer_on_all_cores = small and not loaded and cores > 1

    def __enter__(self):
        if self.limiter is not None:
            self.limiter.__enter__()
        self.optimizer.all_cores = self.optimizer_on_all_cores
        return self

    def __exit__(self, *exc):
        self.optimizer.all_cores = False
        if self.limiter is not None:
            self.limiter.__exit__(*exc)


class prediction_threads:
    """A context for predicting a large batch: `map(forward, pieces)` runs the pieces on every core.

    Prediction keeps nothing on the layers, so pieces of a batch can go through the model in
    parallel threads; each runs BLAS and the compiled loops on one core (NumPy and numba let go of
    Python's lock while they compute), so no two thread pools spin against each other. A small
    batch, one core or a busy machine runs the pieces one after another.
    """

    def __init__(self, batch):
        cores = os.cpu_count() or 1
        loaded = busy(cores)
        self.workers = cores if batch >= 64 * cores and cores > 1 and not loaded else 1
        # One BLAS thread for any batch worth it, in parallel or not: the same numbers either way
        # (OpenBLAS sums in another order on more threads).
        self.limiter = one_blas_thread() if batch >= 64 else None

    def __enter__(self):
        if self.limiter is not None:
            self.limiter.__enter__()
        self.pool = ThreadPoolExecutor(self.workers) if self.workers > 1 else None
        return self

    def map(self, forward, pieces):
        return list(self.pool.map(forward, pieces) if self.pool is not None else map(forward, pieces))

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.shutdown()
        if self.limiter is not None:
            self.limiter.__exit__(*exc)


def split_kernels(batch, training):
    """Whether the compiled convolution loops (conv_kernels.py) may split a batch over every core:
    while training on small batches, as the optimizer's update is split (see above). Prediction
    splits its batch into pieces instead (prediction_threads), and a busy machine runs on one core."""
    cores = os.cpu_count() or 1
    return training and batch <= 64 and cores > 1 and not busy(cores)


_piece_pool = None


def each_piece(work, pieces, training, *more):
    """[work(piece, ...) for each piece], the pieces shared between every core's thread while
    training on small batches (as split_kernels decides; the work must let go of Python's lock,
    as NumPy and the compiled loops do), one after another otherwise."""
    global _piece_pool
    if len(pieces) < 2 or not split_kernels(pieces[-1].stop, training):     # the batch: up to the last piece
        return list(map(work, pieces, *more))
    if _piece_pool is None:
        _piece_pool = ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix="digitlens-pieces")
    return list(_piece_pool.map(work, pieces, *more))


def batch_threads(batch_size):
    """A context for going through data batch by batch (evaluate and predict with a progress line
    or batch callbacks): small batches, or a busy machine, run their products on one core."""
    import contextlib

    if batch_size > 64 and not busy():
        return contextlib.nullcontext()
    return one_blas_thread()
