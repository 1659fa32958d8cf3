"""A training job the page can watch: one model trained in a background thread, reported as events.

The job trains a fresh model from random weights with `recipes.train`, the same function the CLI's
`digitlens train` uses, and listens through a callback with Keras's hook names. The callback turns
what `fit` reports into events the page draws:

    state     queued (with its position in line, 1 = next), paused, running again, or stopping
    start     the settings, the step count, and the first layer's random weights as images
    progress  at most ~10 a second: every batch's loss and accuracy since the last one (and their
              moving average over the window explain.history.curves uses), the running loss and
              accuracy of the epoch, the progress and the time left
    weights   about once a second: the first layer's weight images as they change
    epoch     at the end of each epoch: loss, accuracy, and on the test set val_loss, val_accuracy;
              its seconds of training (time spent paused left out), and whether it was cut short
              by a stop ("partial", with the steps it ran)
    done      finished, stopped or failed, with the test accuracy, the step where the loss first
              stopped being a number if the run diverged, and whether the trained model replaced
              the session's ("replaced": false if a file was loaded meanwhile)

Events are kept in order, so a page that connects late (or reconnects) replays them all. A run
that diverges (a learning rate far too large) reports NaN losses, which the stream sends as null
(common.json_text), and marks the first such step in "diverged_at". Pausing blocks the training
thread between two steps; stopping sets `model.stop_training`, Keras's way. A job waits its turn
in a TrainingQueue (queue.py) before it starts. The model is not shared with anyone until the job
ends, when `on_finish(model, note)` is asked to hand it over; it answers whether it did (a model
loaded meanwhile is not replaced: the trained one stays on the job as `unclaimed`, for
POST /api/train/accept).

The job remembers the model its own replaced (`previous`), so a learner can undo a bad run until
they keep the new one (api_train.py's /undo and /keep).

Unless the settings say "timeline": false, the job also records the training timeline, as
`digitlens train` does (explain/timeline.py: snapshots at steps 0, 1, 2, 5, 10, ... and every
epoch's end, and the probe images' probabilities), so the Train tab can replay the run afterwards
(api_timeline.py); it goes with the model into a saved .keras file.
"""

import math
import os
import sys
import threading
import time
import traceback

from .. import recipes
from ..errors import DigitlensError
from ..explain.history import curves, moving_average
from ..explain.neurons import weight_images
from ..explain.timeline import Timeline, choose_probes
from ..nn import Callback
from ..viz.style import symmetric_limit
from .colors import LIMIT_PERCENTILE
from .packing import pack

PROGRESS_EVERY = 0.1    # seconds between progress events
WEIGHTS_EVERY = 1.0     # seconds between weight pictures
WEIGHT_IMAGES = 64      # how many of the first layer's neurons the page shows while training


def weight_snapshot(model):
    """The first layer's first WEIGHT_IMAGES neurons as 28x28 weight images, packed float32, with
    the limit of their colour scale (digitlens.viz's: a few extreme weights may saturate)."""
    images = weight_images(model)[:WEIGHT_IMAGES]
    return {**pack(images), "limit": symmetric_limit(images, LIMIT_PERCENTILE)}


def smoothing_window(steps_per_epoch):
    """The moving-average window explain.history.curves uses for an epoch of this many steps.
    Asked of curves itself, so the live curve and the saved model's curve cannot drift apart."""
    one_epoch = {"history": {}, "batches": [{"epoch": 0, "batch": steps_per_epoch - 1, "loss": 0.0, "accuracy": 0.0}]}
    return curves(one_epoch)["batch"]["window"]


class TrainingJob:
    def __init__(self, settings, dataset, on_finish):
        """settings: {"hidden": [(units, activation)], "recipe", "epochs", "batch_size", "optimizer",
        "learning_rate", "samples", "seed", "timeline" (record one; default true)}; dataset: a
        datasets.Dataset; on_finish(model, note) returns whether the model replaced the session's."""
        self.settings = settings
        self.dataset = dataset
        self.on_finish = on_finish
        self.events = []
        self.changed = threading.Condition()
        self.state = "queued"
        self.position = None               # in the queue's line, while queued
        self.on_end = None                 # the queue's: called when the job ends
        self.queue = None
        self.unclaimed = None              # the trained model, if it did not replace the session's
        self.running = threading.Event()   # cleared while paused
        self.running.set()
        self.stop_requested = False
        self.paused_seconds = 0.0
        self.diverged_at = None            # the first step whose loss was not a number
        self.result = None
        self.previous = None               # the Snapshot this job's model replaced, until kept
        self.model_version = None          # the session version its model got when it finished
        self.thread = threading.Thread(target=self._run, name="digitlens-training", daemon=True)

    # ---- control, from the web handlers ------------------------------------------------------

    def start(self, on_end=None):
        """Begin training in the job's own thread (the queue calls this when the job's turn comes)."""
        with self.changed:
            if self.state != "queued":    # stopped while it waited
                return self
            self.on_end = on_end
            self.position = None
            self.state = "starting"
        self.thread.start()
        return self

    def wait_in_line(self, position):
        """Note (and tell the page) where the job waits in the queue's line."""
        with self.changed:
            if self.state == "queued" and position != self.position:
                self.position = position
                self.publish({"type": "state", "state": "queued", "position": position})

    @property
    def active(self):
        return self.state in ("queued", "starting", "running", "paused", "stopping")

    def pause(self):
        if self.state == "running":
            # The state first: the thread, on seeing it paused, reports the step where it stopped,
            # so that progress event always comes after the "paused" one.
            self._set_state("paused")
            self.running.clear()

    def resume(self):
        if self.state == "paused":
            self._set_state("running")
            self.running.set()

    def stop(self):
        if self.state == "queued" and self.queue is not None and self.queue.remove(self):
            self._end("stopped", {"detail": "stopped before it started", "note": "stopped before it started"})
            return
        if self.active:
            self.stop_requested = True
            self._set_state("stopping")
            self.running.set()

    # ---- the model it made: keep it, or go back to the one before --------------------------------

    def handed_over(self, previous, version):
        """Called when the job's model became the session's `version`, replacing `previous`
        (a session Snapshot, or None when there was no model)."""
        self.previous = previous
        self.model_version = version

    def can_undo(self, version):
        """True while the job's model is still the current one (`version`) and not yet kept."""
        return self.previous is not None and self.model_version == version

    def keep(self):
        self.previous = None

    # ---- events ---------------------------------------------------------------------------------

    def publish(self, event):
        with self.changed:
            event["id"] = len(self.events)
            if event["type"] == "weights":
                # A page that connects late needs only the newest pictures: forget the older ones
                # (about 270 KB each), so a long job does not pile them up in memory.
                for old in reversed(self.events):
                    if old["type"] == "weights":
                        old["weights"] = None
                        break
            self.events.append(event)
            self.changed.notify_all()

    def events_since(self, first, timeout=0.0):
        """(events numbered `first` onwards, whether the job has ended), waiting up to `timeout`
        seconds for an event to arrive."""
        with self.changed:
            if timeout and len(self.events) <= first and self.active:
                self.changed.wait(timeout)
            return self.events[first:], not self.active

    def _set_state(self, state):
        with self.changed:
            self.state = state
            self.publish({"type": "state", "state": state})

    def status(self):
        """A summary for GET /api/train: the state, the settings and the last progress and epochs."""
        with self.changed:
            progress = next((e for e in reversed(self.events) if e["type"] == "progress"), None)
            epochs = [e for e in self.events if e["type"] == "epoch"]
            return {"state": self.state, "position": self.position, "settings": self.settings,
                    "progress": progress, "epochs": epochs, "result": self.result, "events": len(self.events)}

    # ---- the training thread ----------------------------------------------------------------

    def _run(self):
        s = self.settings
        _lower_priority()
        try:
            ds = self.dataset
            x, y = ds.x_train[:s["samples"]], ds.y_train[:s["samples"]]
            recipe = recipes.get_recipe(s["recipe"], epochs=s["epochs"], batch_size=s["batch_size"],
                                        optimizer=s["optimizer"], learning_rate=s["learning_rate"],
                                        momentum=s.get("momentum") if s["optimizer"] == "sgd" else None)
            model = recipes.build_model([tuple(h) for h in s["hidden"]], classes=len(ds.class_names),
                                        input_shape=ds.x_train.shape[1:], seed=s["seed"])
            model.build()
            model.class_names = list(ds.class_names)
            model.dataset = ds.info.name
            with self.changed:
                if self.state == "starting":     # not if a stop came in meanwhile
                    self.state = "running"
            callbacks = [LiveProgress(self)]
            if s.get("timeline", True):
                callbacks.append(Timeline(probes=choose_probes(ds.x_test, ds.y_test)))
            recipes.train(model, x, y, recipe, validation_data=(ds.x_test, ds.y_test), callbacks=callbacks)
            test_loss, test_accuracy = model.evaluate(ds.x_test, ds.y_test)
            stopped = self.stop_requested
            done_steps = len(model.history.batches)
            layers = " \u2192 ".join(f"{units} {activation}" for units, activation in s["hidden"])
            note = (f"trained here: {layers}, "
                    + (f"stopped after {done_steps:,} step{'s' if done_steps != 1 else ''}" if stopped else
                       f"{len(model.history.epoch)} epoch{'s' if len(model.history.epoch) != 1 else ''}")
                    + (f", diverged at step {self.diverged_at:,}" if self.diverged_at is not None else
                       f", {test_accuracy:.1%} on the test set"))
            replaced = bool(self.on_finish(model, note))
            if not replaced:
                self.unclaimed = model
                note += ("; not loaded, because another model was loaded while it trained "
                         "(POST /api/train/accept loads it)")
            self.result = {"test_accuracy": test_accuracy, "test_loss": test_loss, "note": note,
                           "replaced": replaced, "steps": done_steps, "diverged_at": self.diverged_at}
            self._end("stopped" if stopped else "finished", self.result)
        except Exception as error:   # the thread must report, never die silently
            if not isinstance(error, DigitlensError):
                traceback.print_exc(file=sys.stderr)
            message = (str(error) if isinstance(error, DigitlensError)
                       else f"training failed: {type(error).__name__}: {error}")
            self.result = {"detail": message}
            self._end("failed", self.result)
        finally:
            if self.on_end is not None:
                self.on_end(self)          # the next job in line may start

    def _end(self, state, result):
        with self.changed:        # the state and the last event change together
            self.state = state
            self.publish({"type": "done", "state": state, **result})


def _lower_priority():
    """Let the training thread give way to the requests of a page someone is drawing on: on Linux
    a thread has a niceness of its own, and 10 is "run when nothing more urgent wants the core"."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):      # not Linux, or not allowed: train at the usual priority
        pass


class LiveProgress(Callback):
    """Keras hooks -> the job's events; also where pausing and stopping take effect."""

    def __init__(self, job):
        self.job = job
        self.points = []            # [step, batch loss, batch accuracy, smoothed loss, smoothed accuracy] not yet sent
        self.losses, self.accuracies = [], []

    def on_train_begin(self, logs=None):
        self.steps = self.params["steps"]
        self.window = smoothing_window(self.steps)
        self.total = self.params["epochs"] * self.steps
        self.done = 0
        self.started = time.perf_counter()
        self.last_progress = self.last_weights = self.started
        self.job.publish({"type": "start", "settings": self.job.settings, "epochs": self.params["epochs"],
                          "steps_per_epoch": self.steps, "total_steps": self.total,
                          "samples": self.params["samples"], "weights": weight_snapshot(self.model)})

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.epoch_steps = 0
        self.paused_before_epoch = self.job.paused_seconds

    def on_train_batch_end(self, batch, logs=None):
        self.done += 1
        self.epoch_steps += 1
        if self.job.diverged_at is None and not math.isfinite(float(logs["batch_loss"])):
            self.job.diverged_at = self.done
        self.losses.append(float(logs["batch_loss"]))
        self.accuracies.append(float(logs["batch_accuracy"]))
        self.points.append([self.done, round(self.losses[-1], 5), round(self.accuracies[-1], 4)])
        now = time.perf_counter()
        last_step = batch + 1 == self.steps
        if now - self.last_progress >= PROGRESS_EVERY or last_step:
            self._progress(batch, logs, now)
        if now - self.last_weights >= WEIGHTS_EVERY:
            self.last_weights = now
            self.job.publish({"type": "weights", "step": self.done, "weights": weight_snapshot(self.model)})
        if not self.job.running.is_set():
            self._progress(batch, logs, now)
            paused = time.perf_counter()
            self.job.running.wait()
            self.job.paused_seconds += time.perf_counter() - paused
        if self.job.stop_requested:
            self.model.stop_training = True

    def _progress(self, batch, logs, now):
        self.last_progress = now
        if self.points:
            recent = len(self.points) + self.window
            smooth_loss = moving_average(self.losses[-recent:], self.window)[-len(self.points):]
            smooth_accuracy = moving_average(self.accuracies[-recent:], self.window)[-len(self.points):]
            for point, loss, accuracy in zip(self.points, smooth_loss, smooth_accuracy):
                point += [round(loss, 5), round(accuracy, 4)]
        elapsed = now - self.started - self.job.paused_seconds
        eta = elapsed / self.done * (self.total - self.done)
        self.job.publish({"type": "progress", "epoch": self.epoch, "batch": batch + 1, "step": self.done,
                          "total_steps": self.total, "points": self.points, "loss": float(logs["loss"]),
                          "accuracy": float(logs["accuracy"]), "elapsed": round(elapsed, 2),
                          "eta": round(eta, 2), "diverged_at": self.job.diverged_at})
        self.points = []

    def on_epoch_end(self, epoch, logs=None):
        # fit times the epoch from its first step to its last; time spent paused is not training
        paused = self.job.paused_seconds - self.paused_before_epoch
        seconds = max(0.0, float(logs.get("seconds", 0.0)) - paused)
        # The logs of digitlens's own callbacks are one dict, and History reads it after this one
        # (Keras's order): so the model's History keeps the honest time too.
        logs["seconds"] = seconds
        partial = self.epoch_steps < self.steps    # a stop cut the epoch short
        self.job.publish({"type": "epoch", "epoch": epoch, "step": self.done,
                          **{key: float(value) for key, value in logs.items()}, "seconds": seconds,
                          "paused_seconds": round(paused, 2), "partial": partial,
                          "epoch_steps": self.epoch_steps, "steps_per_epoch": self.steps})

    def on_train_end(self, logs=None):
        self.job.publish({"type": "weights", "step": self.done, "weights": weight_snapshot(self.model)})
