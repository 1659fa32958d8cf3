"""Training jobs take turns: at most `slots` train at once, the rest wait in line, in order.

Training uses every core the machine has, so when a class of thirty presses Train together, thirty
jobs side by side would each crawl - and starve the predictions every student's drawing needs.
So a job is handed to the queue; it starts at once if a slot is free, else it waits with a
position (1: next to start) that it reports as a "state" event whenever the line moves, and that
GET /api/train returns. Stopping a waiting job takes it out of the line.

    queue = TrainingQueue(slots=1)
    queue.submit(job)          # job.start() now or when its turn comes
    queue.position(job)        # 2: one job waits before it; None once it runs
"""

import collections
import threading

from .session import Conflict


class TrainingQueue:
    def __init__(self, slots=1, max_waiting=200):
        self.slots = slots
        self.max_waiting = max_waiting
        self.waiting = collections.deque()
        self.running = set()
        self._lock = threading.Lock()

    def submit(self, job):
        """Start `job` now if a slot is free, else put it at the end of the line."""
        job.queue = self
        with self._lock:
            if len(self.running) < self.slots:
                self._start(job)
                return job
            if len(self.waiting) >= self.max_waiting:
                raise Conflict(f"{len(self.waiting)} training jobs are already waiting: try again later")
            self.waiting.append(job)
            job.wait_in_line(len(self.waiting))
        return job

    def position(self, job):
        """1 if `job` starts next, 2 if one job waits before it, ...; None if it is not waiting."""
        with self._lock:
            try:
                return self.waiting.index(job) + 1
            except ValueError:
                return None

    def remove(self, job):
        """Take a waiting job out of the line; True if it was waiting."""
        with self._lock:
            if job not in self.waiting:
                return False
            self.waiting.remove(job)
            self._announce()
            return True

    def finished(self, job):
        """Called by a job when it ends (from its own thread): the next one in line starts."""
        with self._lock:
            self.running.discard(job)
            while self.waiting and len(self.running) < self.slots:
                self._start(self.waiting.popleft())
            self._announce()

    def _start(self, job):
        self.running.add(job)
        job.start(on_end=self.finished)

    def _announce(self):
        for position, job in enumerate(self.waiting, start=1):
            job.wait_in_line(position)
