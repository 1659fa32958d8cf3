"""A rich progress bar per epoch, as a training callback."""

from ..nn import Callback


class EpochProgress(Callback):
    """While an epoch runs, a bar with the running loss and accuracy and the time left; when it
    ends, the bar gives way to one line with the epoch's results."""

    def __init__(self, console):
        self.console = console

    def step_boundaries(self, epoch, steps):
        return ()          # it only draws the logs: the fast path may run many steps per call

    def on_train_begin(self, logs=None):
        # Updating a bar costs a few microseconds; every step of an epoch is more than needed.
        self.every = max(1, self.params["steps"] // 200)

    def on_epoch_begin(self, epoch, logs=None):
        self.progress = None
        if not self.console.is_terminal:      # in a log file, the result lines say it all
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn(f"epoch {epoch + 1}/{self.params['epochs']}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("{task.fields[metrics]}"),
                                 TimeRemainingColumn(), console=self.console, transient=True)
        self.task = self.progress.add_task("", total=self.params["steps"], metrics="")
        self.progress.start()

    def on_train_batch_end(self, batch, logs=None):
        if self.progress is not None and batch % self.every == 0:
            self.progress.update(self.task, completed=batch + 1,
                                 metrics=f"loss {logs['loss']:.4f}  accuracy {logs['accuracy']:.2%}")

    def on_epoch_end(self, epoch, logs=None):
        if self.progress is not None:
            self.progress.stop()
        parts = [f"epoch {epoch + 1}/{self.params['epochs']}", f"loss {logs['loss']:.4f}",
                 f"accuracy {logs.get('accuracy', float('nan')):.2%}"]
        if "val_accuracy" in logs:
            parts.append(f"val_accuracy {logs['val_accuracy']:.2%}")
        parts.append(f"{logs['seconds']:.1f}s")
        self.console.print("  ".join(parts))
