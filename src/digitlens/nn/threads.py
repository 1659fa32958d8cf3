"""How many threads the BLAS library (the matrix products) uses while training."""

import os


class blas_threads:
    """Choose the BLAS library's threads while training.

    Small batches are faster on one thread: splitting a (32, 784) @ (784, 256) product over two
    cores costs more in hand-over than it saves. Larger batches use every core - unless the
    machine is already busy: BLAS threads wait for each other at every product, and a thread
    that has to queue for a core turns a 0.3 ms step into 20 ms (seen on a shared 2-core machine).
    """

    def __init__(self, batch_size):
        busy = hasattr(os, "getloadavg") and os.getloadavg()[0] > (os.cpu_count() or 1) - 0.5
        self.threads = 1 if batch_size <= 64 or busy else None

    def __enter__(self):
        self.limiter = None
        if self.threads is not None:
            from threadpoolctl import threadpool_limits
            self.limiter = threadpool_limits(limits=self.threads, user_api="blas")
        return self

    def __exit__(self, *exc):
        if self.limiter is not None:
            self.limiter.restore_original_limits()
