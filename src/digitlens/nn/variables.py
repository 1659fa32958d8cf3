"""`model.weights` as Keras shows them: each weight array with its name and path.

    model.weights[0]            <Variable path=sequential/dense/kernel, shape=(784, 256), dtype=float32, value=...>
    model.weights[0].numpy()    a copy, a plain NumPy array
    model.weights[1].assign(np.zeros(256))

A Variable IS the model's numbers - a view into the model's flat parameter array (model.py) - so
assigning to it changes the model, as assigning to a Keras variable does. It is also a NumPy
array: slicing, arithmetic and matplotlib work on it, and give plain arrays.

Left out: Keras's variable ops (v.value, constraints, dtype policies); the layers' own
`layer.kernel` and `layer.bias` stay plain array views, for the arithmetic in layers.py.
"""

import numpy as np


class Variable(np.ndarray):
    name = None            # "kernel"
    path = None            # "sequential/dense/kernel"
    trainable = True       # False for numbers the optimizer does not change (moving statistics)

    @classmethod
    def of(cls, array, name, path, trainable=True):
        variable = array.view(cls)
        variable.name, variable.path, variable.trainable = name, path, trainable
        return variable

    def __array_finalize__(self, source):
        self.name = self.path = None          # a reshaped or transposed view is just an array

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # Arithmetic on a variable gives a plain array (as NumPy on a Keras variable's value does).
        inputs = [np.asarray(x) if isinstance(x, Variable) else x for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(np.asarray(x) if isinstance(x, Variable) else x for x in kwargs["out"])
        return getattr(ufunc, method)(*inputs, **kwargs)

    def __getitem__(self, key):
        return np.asarray(self)[key]

    def numpy(self):
        """A copy of the values, as a plain NumPy array."""
        return np.array(self, copy=True)

    def assign(self, value):
        """Set every value (the shape must match); returns the variable."""
        value = np.asarray(value, dtype=self.dtype)
        if value.shape != self.shape:
            raise ValueError(f"{self.path}: assign expected shape {self.shape}, received {value.shape}")
        np.asarray(self)[...] = value
        return self

    def __repr__(self):
        if self.path is None:
            return repr(np.asarray(self))
        return (f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype}, "
                f"value={np.asarray(self)}>")
