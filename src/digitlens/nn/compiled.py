"""Compiled loops, loaded once: what fused.py, conv_kernels.py and fast_dense.py share.

    KERNELS = Compiled(_compile)         # _compile() -> {(name, all_cores): function, ...}
    KERNELS.get()                        # that dict, or None: numba missing or unable to compile
                                         # here, or DIGITLENS_NO_NUMBA set - then NumPy runs
    KERNELS.run("adam", all_cores, *args)

numba is imported on first use, not with digitlens, and compiled code is cached on disk. A loop
split over every core runs in numba's thread pool, which two threads must not enter at once (the
web app may take a backprop step while a training run goes on): one_parallel_call_at_a_time.
"""

import os
import threading

one_parallel_call_at_a_time = threading.Lock()


class Compiled:
    def __init__(self, compile):
        self._compile = compile
        self._kernels = None                # None: not tried yet; False: not available
        self._lock = threading.Lock()

    def get(self):
        with self._lock:
            if self._kernels is None:
                self._kernels = False
                if not os.environ.get("DIGITLENS_NO_NUMBA"):
                    try:
                        self._kernels = self._compile()
                    except Exception:       # numba missing or broken: the NumPy versions run
                        pass
        return self._kernels or None

    def run(self, name, all_cores, *args):
        """Run kernel `name` on one core, or split over every core (one split call at a time)."""
        kernel = self.get()[name, bool(all_cores)]
        if all_cores:
            with one_parallel_call_at_a_time:
                kernel(*args)
        else:
            kernel(*args)
