"""The one thing the web app remembers: which model every tab is looking at, and the data.

Every tab shows the same model. It changes only when a training job finishes or the learner loads
a .keras file (a backprop step runs on a copy and leaves it as it was); each change bumps
`version`, so the page knows to ask again. One lock guards the model: the layers keep what they
saw in the forward pass for the backward pass, so two requests must not run through the same
model at once. A request takes about a millisecond, so they simply queue; nothing slow (reading
the dataset, say) is done while holding it.
"""

import threading

from ..errors import DigitlensError


class Conflict(DigitlensError):
    """The request is fine but the app is not in a state to answer it (HTTP 409)."""


class Session:
    def __init__(self, model=None, data_dir=None, dataset=None, origin="given at start",
                 after_training=None):
        self.lock = threading.RLock()
        self.model = None
        self.version = 0
        self.origin = None
        self.data_dir = data_dir
        self._dataset = dataset
        self._data_lock = threading.Lock()
        self.job = None                   # the training job, running or finished
        self.after_training = after_training  # called with each model a training job finishes
        self.cache = {}                   # results that only change with the model: {key: (version, value)}
        if model is not None:
            self.set_model(model, origin)

    def set_model(self, model, origin):
        """Make `model` the one every tab uses; `origin` says where it came from, for people."""
        model._require_built()
        with self.lock:
            self.model = model
            self.origin = origin
            self.version += 1
            self.cache.clear()

    def require_model(self):
        if self.model is None:
            raise Conflict("there is no model yet: train one in the Train tab or load a .keras file")
        return self.model

    def cached(self, key, compute):
        """compute() once per model version (evaluation on the test set takes a moment)."""
        with self.lock:
            hit = self.cache.get(key)
            if hit is not None and hit[0] == self.version:
                return hit[1]
            value = compute()
            self.cache[key] = (self.version, value)
            return value

    def dataset(self):
        """The dataset (MNIST unless told otherwise), read once on first use.

        It never downloads here - a request would wait minutes - `digitlens serve` does that at
        start-up. If the data is still missing, the error says how to get it.
        """
        with self._data_lock:
            if self._dataset is None:
                from ..datasets import mnist
                from ..errors import DataError

                try:
                    self._dataset = mnist.load_dataset(self.data_dir, download=False, progress=False)
                except DataError as error:
                    raise DataError(f"this needs the MNIST data, which the app does not have ({error}): "
                                    "stop it and start 'digitlens serve' again with --data DIR, or with "
                                    "the network on so it can download MNIST first") from None
            return self._dataset

    def class_names(self):
        names = getattr(self.model, "class_names", None)
        if names:
            return [str(name) for name in names]
        units = self.model.output_shape[-1] if self.model is not None else 10
        return [str(i) for i in range(units)]
