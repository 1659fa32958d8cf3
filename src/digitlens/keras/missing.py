"""What the facade does not have is refused by name, never imitated.

Each facade module ends with `__getattr__ = missing("keras.layers", __all__)`: asking it for a
name it lacks - keras.layers.Conv1D, keras.optimizers.Adagrad - raises an AttributeError that says
which Keras name is not in digitlens and what the module has instead. (Python turns that into a
plain "cannot import name" ImportError for `from ... import Conv1D`.)
"""


def missing(module, available, hints=None):
    """A module-level __getattr__ for the facade module `module` ("keras.layers")."""
    hints = hints or {}

    def __getattr__(name):
        if name.startswith("__"):                # Python's and tools' own probes
            raise AttributeError(name)
        hint = hints.get(name)
        raise AttributeError(f"{module}.{name} is not in digitlens"
                             + (f": {hint}" if hint else "")
                             + f" (digitlens's {module} has {', '.join(sorted(available))})")

    return __getattr__
