"""The progress lines fit, evaluate and predict print, in Keras 3's words and layout.

    verbose=1 ("auto")   Epoch 1/5
                         1875/1875 ━━━━━━━━━━━━━━━━━━━━ 3s 1ms/step - accuracy: 0.9312 - loss: 0.2345 - val_...
    verbose=2            Epoch 1/5
                         1875/1875 - 3s - 1ms/step - accuracy: 0.9312 - loss: 0.2345 - val_...
    verbose=0            nothing

"Epoch 1/5" is printed only when there is more than one epoch. With verbose=1 the bar grows as
the epoch runs and shows the time left; the finished line gives the seconds it took and the time
per step (the first step, which includes warming up, is left out of that average). The numbers
are the logs' running means; evaluate prints its result line the same way, predict its bar alone.

Where the display is live (a terminal, Jupyter) the line is redrawn in place, with Keras's bold
and green; elsewhere (a log file, a pipe) only the finished line is written, in plain text.

Left out: Keras's samples count mode and custom progress bars.
"""

import sys
import time

from .callbacks import EXTRAS, Callback

WIDTH = 20           # characters in the bar
INTERVAL = 0.05      # seconds between redraws of a live line


class ProgressPrinter(Callback):
    """Keras's ProgbarLogger: prints fit's epochs, evaluate's result and predict's progress."""

    def __init__(self, verbose=1, stream=None):
        self.verbose = 1 if verbose == "auto" else verbose
        self.stream = stream
        self.in_fit = False
        self.bar = None

    def set_params(self, params):
        self.params = params
        self.epochs, self.steps = params["epochs"], params["steps"]

    # ---- fit -------------------------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self.in_fit = True                 # then the validation inside fit prints nothing

    def on_epoch_begin(self, epoch, logs=None):
        self.bar = Bar(self.steps, self.verbose, self._stream())
        if self.epochs > 1:
            self._stream().write(f"Epoch {epoch + 1}/{self.epochs}\n")

    def step_boundaries(self, epoch, steps):
        return ()                       # only draws the logs: the fast path may run many steps per call

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.finish(logs)

    # ---- evaluate and predict --------------------------------------------------------------

    def on_test_begin(self, logs=None):
        if not self.in_fit:
            self.bar = Bar(self.steps, self.verbose, self._stream())

    def on_test_batch_end(self, batch, logs=None):
        if not self.in_fit:
            self.bar.update(batch + 1, logs)

    def on_test_end(self, logs=None):
        if not self.in_fit:
            self.bar.finish(logs)

    def on_predict_begin(self, logs=None):
        self.bar = Bar(self.steps, self.verbose, self._stream())

    def on_predict_batch_end(self, batch, logs=None):
        self.bar.update(batch + 1, None)

    def on_predict_end(self, logs=None):
        self.bar.finish(None)

    def _stream(self):
        return self.stream or sys.stdout      # looked up each time: a notebook may swap it


class Bar:
    """One progress line for `steps` steps."""

    def __init__(self, steps, verbose, stream):
        self.steps, self.verbose, self.stream = steps, verbose, stream
        self.live = _is_live(stream)
        self.started = time.perf_counter()
        self.after_first_step = None
        self.last_drawn = 0.0
        self.drawn_width = 0

    def update(self, done, logs):
        """Step `done` (counted from 1) finished; redraw the line if the display is live."""
        now = time.perf_counter()
        per_step = self._per_step(done, now)
        if self.verbose == 1 and self.live and now - self.last_drawn >= INTERVAL:
            self._draw(done, logs, now, per_step, finished=False)
            self.last_drawn = now

    def finish(self, logs):
        """The line as it stays on the screen once all steps are done."""
        now = time.perf_counter()
        per_step = self._per_step(self.steps, now)
        if self.verbose == 1:
            self._draw(self.steps, logs, now, per_step, finished=True)
        elif self.verbose == 2:
            count = f"{self.steps:>{len(str(self.steps))}}/{self.steps}"
            self.stream.write(f"{count} - {now - self.started:.0f}s -{_per_step_text(per_step)}"
                              f"{_metrics(logs, verbose=2)}\n")
            self.stream.flush()

    def _draw(self, done, logs, now, per_step, finished):
        count = f"{done:>{len(str(self.steps))}}/{self.steps}"
        filled = int(WIDTH * done / self.steps) if self.steps else WIDTH
        if finished:
            when = f"{now - self.started:.0f}s"
        else:
            when = _clock(per_step * (self.steps - done))        # the time left
        text = _per_step_text(per_step) + _metrics(logs)
        plain = f"{count} {'━' * WIDTH} {when}{text}"
        if not self.live:
            self.stream.write(plain + "\n")
            self.stream.flush()
            return
        line = (f"\x1b[1m{count}\x1b[0m \x1b[32m{'━' * filled}\x1b[0m\x1b[37m{'━' * (WIDTH - filled)}"
                f"\x1b[0m \x1b[1m{when}\x1b[0m{text}")
        padding = " " * max(0, self.drawn_width - len(plain))    # wipe what a longer line left
        self.stream.write("\b" * self.drawn_width + "\r" + line + padding + ("\n" if finished else ""))
        self.stream.flush()
        self.drawn_width = len(plain)

    def _per_step(self, done, now):
        # Keras leaves the first step (warming up) out of the average once there are more.
        if not done:
            return 0.0
        if done == 1 and self.after_first_step is None:
            self.after_first_step = now
            return now - self.started
        if self.after_first_step is not None and done > 1:
            return (now - self.after_first_step) / (done - 1)
        return (now - self.started) / done


def _per_step_text(seconds):
    if seconds >= 1 or seconds == 0:
        return f" {seconds:.0f}s/step"
    if seconds >= 1e-3:
        return f" {seconds * 1e3:.0f}ms/step"
    return f" {seconds * 1e6:.0f}us/step"


def _metrics(logs, verbose=1):
    parts = []
    for key, value in (logs or {}).items():
        if key in EXTRAS:
            continue
        large = abs(value) > 1e-3 if verbose == 1 else value > 1e-3      # as Keras writes them
        parts.append(f" - {key}: {value:.4f}" if large else f" - {key}: {value:.4e}")
    return "".join(parts)


def _clock(seconds):
    """The time left as Keras writes it: 42s, 3:07, 1:02:03."""
    seconds = int(seconds)
    if seconds > 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if seconds > 60:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds}s"


def _is_live(stream):
    """A terminal or a Jupyter kernel redraws a line in place; a file or a pipe does not."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) or "ipykernel" in sys.modules
