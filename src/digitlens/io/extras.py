"""What digitlens keeps in a model file that Keras has no place for.

Keras files hold the network and its compile settings. A digitlens model may also carry:

    model.history       the History of its training: per-epoch curves, per-batch losses, seconds
    model.class_names   what each output means, e.g. ["T-shirt/top", "Trouser", ...]
    model.dataset       the dataset's name, e.g. "mnist" or "fashion_mnist"
    model.recipe        how it was trained (recipes.Recipe: epochs, batch size, optimizer, ...),
                        saved with its to_dict() and read back as that dict

They are written as one JSON document - its own zip entry `digitlens.json` in a .keras file, a
`digitlens.json` byte dataset in an .h5 file - which Keras ignores and still loads the file,
and read back onto the loaded model. Plain JSON only: nothing is unpickled.
"""

import dataclasses
import json
import warnings

import numpy as np

from .. import __version__
from ..errors import DigitlensError
from ..nn.callbacks import History

ENTRY = "digitlens.json"
ATTRIBUTES = ("class_names", "dataset", "recipe")


def collect(model):
    """The extras of `model` as a dict, or None if it has none."""
    data = {}
    if model.history is not None:
        data["history"] = model.history.to_dict()
    for attribute in ATTRIBUTES:
        value = getattr(model, attribute, None)
        if value is not None:
            data[attribute] = value
    if not data:
        return None
    return {"digitlens_version": __version__, **data}


def encode(data):
    try:
        return json.dumps(data, default=_plain).encode("utf-8")
    except (TypeError, ValueError) as e:
        raise DigitlensError(f"cannot save the model's extras (history, class_names, dataset, "
                             f"recipe) as JSON: {e}") from None


def apply(model, raw, where):
    """Put extras read from a file (bytes of JSON) back onto a loaded model."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict):
        warnings.warn(f"{where}: {ENTRY} is damaged; the model loads without its training "
                      "history and labels", stacklevel=4)
        return
    history = data.get("history")
    if isinstance(history, dict):
        model.history = History()
        model.history.history = dict(history.get("history") or {})
        model.history.epoch = list(history.get("epoch") or [])
        model.history.seconds = list(history.get("seconds") or [])
        model.history.batches = list(history.get("batches") or [])
    for attribute in ATTRIBUTES:
        if attribute in data:
            setattr(model, attribute, data[attribute])


def _plain(value):
    """JSON for what a history or a recipe may hold: NumPy numbers and arrays, dataclasses."""
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")
