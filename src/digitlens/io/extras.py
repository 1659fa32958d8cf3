"""What digitlens keeps in a model file that Keras has no place for.

Keras files hold the network and its compile settings. A digitlens model may also carry:

    model.history       the History of its training: per-epoch curves, per-batch losses, seconds
    model.class_names   what each output means, e.g. ["T-shirt/top", "Trouser", ...]
    model.dataset       the dataset's name, e.g. "mnist" or "fashion_mnist"
    model.recipe        how it was trained (recipes.Recipe: epochs, batch size, optimizer, ...),
                        saved with its to_dict() and read back as that dict
    model.timeline      what the network looked like during training (nn/timeline.py), at most
                        a couple of MB

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
from ..nn.timeline import TrainingTimeline

ENTRY = "digitlens.json"
ATTRIBUTES = ("class_names", "dataset", "recipe")


def collect(model):
    """The extras of `model` as a dict, or None if it has none."""
    data = {}
    if model.history is not None:
        data["history"] = model.history.to_dict()
    if getattr(model, "timeline", None) is not None:
        data["timeline"] = model.timeline.to_dict()
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
    """Put extras read from a file (bytes of JSON) back onto a loaded model.

    Each extra is checked first - class_names a list of strings, one per output unit; history
    lists of numbers; dataset a string; recipe an object - and one that is not what digitlens
    wrote is left off with a warning, so it cannot break predicting or the web page later.
    """
    try:
        data = json.loads(raw) if raw is not None else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        data = None
    if not isinstance(data, dict):
        warnings.warn(f"{where}: {ENTRY} is damaged; the model loads without its training "
                      "history and labels", stacklevel=4)
        return
    problems = {}
    for attribute in ("history",) + ATTRIBUTES:
        if attribute in data:
            problem = _problem(attribute, data[attribute], model)
            if problem:
                problems[attribute] = problem
            elif attribute == "history":
                model.history = _history(data["history"])
            else:
                setattr(model, attribute, data[attribute])
    if "timeline" in data:
        try:
            timeline = TrainingTimeline.from_dict(data["timeline"])
            _check_timeline(timeline, model)
            model.timeline = timeline
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as e:
            problems["timeline"] = f"timeline: {e}"
    if problems:
        warnings.warn(f"{where}: {ENTRY} is damaged ({'; '.join(problems.values())}); the model "
                      f"loads without its {' and '.join(problems)}", stacklevel=4)


def warn_left_off(where, reason):
    """Say that the extras were not read (too large, say): the model loads without them."""
    warnings.warn(f"{where}: {ENTRY} is left off ({reason}); the model loads without its training "
                  "history and labels", stacklevel=4)


def _problem(attribute, value, model):
    """What is wrong with one extra from a file, or None if it is what digitlens saves."""
    if attribute == "class_names":
        units = model.output_shape[-1]
        if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
            return f"class_names: expected a list of {units} strings, received {_kind(value)}"
        if len(value) != units:
            return f"class_names: expected {units} names, one per output, received {len(value)}"
    elif attribute == "dataset" and not isinstance(value, str):
        return f"dataset: expected a name, received {_kind(value)}"
    elif attribute == "recipe" and not isinstance(value, dict):
        return f"recipe: expected an object, received {_kind(value)}"
    elif attribute == "history":
        return _history_problem(value)
    return None


def _check_timeline(timeline, model):
    """A timeline must fit the model it rides with: its pictures the model's image size, its
    templates one per output."""
    templates = timeline.templates
    if templates is not None and templates.shape[1] != model.output_shape[-1]:
        raise ValueError(f"{templates.shape[1]} templates for a model with {model.output_shape[-1]} outputs")
    if timeline.probabilities.size and timeline.probabilities.shape[-1] != model.output_shape[-1]:
        raise ValueError("probe probabilities for another number of outputs")


def _history_problem(history):
    if not isinstance(history, dict):
        return f"history: expected an object, received {_kind(history)}"
    curves = history.get("history", {})
    if not isinstance(curves, dict) or not all(_numbers(v) for v in curves.values()):
        return "history.history: expected lists of numbers by name"
    if not _numbers(history.get("epoch", []), whole=True):
        return "history.epoch: expected a list of counts (whole numbers >= 0)"
    if not _numbers(history.get("seconds", []), or_null=True):
        return "history.seconds: expected a list of numbers"
    batches = history.get("batches", [])
    if not isinstance(batches, list) or not all(
            isinstance(b, dict) and _numbers([b.get("epoch"), b.get("batch")], whole=True)
            and _numbers([b.get("loss"), b.get("accuracy")]) for b in batches):
        return "history.batches: expected a list of {epoch, batch, loss, accuracy}"
    return None


def _history(data):
    history = History()
    history.history = dict(data.get("history", {}))
    history.epoch = list(data.get("epoch", []))
    history.seconds = list(data.get("seconds", []))
    history.batches = list(data.get("batches", []))
    return history


def _numbers(values, whole=False, or_null=False):
    """True if `values` is a list of JSON numbers - counts (0, 1, 2, ...) if `whole`, and also
    nulls if `or_null`."""
    def ok(v):
        if v is None:
            return or_null
        if isinstance(v, bool):
            return False
        if whole:
            return isinstance(v, int) and 0 <= v < 2**31
        return isinstance(v, (int, float))
    return isinstance(values, list) and all(ok(v) for v in values)


def _kind(value):
    return "null" if value is None else f"{type(value).__name__} {value!r}"[:80]


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
