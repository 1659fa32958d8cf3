"""The stack of layers a Sequential model is: add, pop, get_layer, and the layers' names.

    model = Sequential()
    model.add(Flatten(input_shape=(28, 28)))    # built at once: the input shape is known
    model.add(Dense(256, "relu"))                # rebuilt; the layers before keep their weights
    model.get_layer(index=-1).name               # "dense"
    model.pop()

Layers without a name get Keras's: the class name in snake_case, numbered within the model
(dense, dense_1, ...). What building a model does with the layers is model.py's `build`.
"""

from .layer import Layer, snake_case
from .layers import InputLayer
from ..errors import DigitlensError


class LayerStack:
    """Sequential's list of layers (`layers`, and `input_layer` for an Input given first)."""

    def add(self, layer, rebuild=True):
        """Put `layer` on top of the stack (an Input may only come first); rebuilds if the input
        shape is known, keeping the weights the other layers already have."""
        if isinstance(layer, InputLayer):
            if self.layers or self.input_layer is not None:
                raise DigitlensError("an Input can only be the first entry of a Sequential model")
            self.input_layer = layer
            layer.name = layer.name or "input_layer"
        elif not isinstance(layer, Layer):
            raise TypeError(f"Sequential.add: expected a layer such as keras.layers.Dense(10), received "
                            f"{type(layer).__name__} {layer!r:.60}")
        else:
            if layer.name is None:
                layer.name = self._unique_name(snake_case(layer.kind))
            elif layer.name in {other.name for other in self.layers}:
                raise ValueError(f"All layers added to a Sequential model should have unique names. Name "
                                 f"{layer.name!r} is already the name of a layer in this model.")
            self.layers.append(layer)
        if rebuild:
            self._rebuild()
        else:
            self.built = False                 # built again before it is next used

    def pop(self, rebuild=True):
        """Remove the top layer and return it; the model is rebuilt without it."""
        if not self.layers:
            raise TypeError("There are no layers in the model.")
        layer = self.layers.pop()
        if rebuild and self.layers:
            self._rebuild()
        else:
            self.built = False
        return layer

    def get_layer(self, name=None, index=None):
        """A layer by its name or its position in model.layers (-1: the last), as Keras's get_layer."""
        if index is not None and name is not None:
            raise ValueError(f"Provide only a layer name or a layer index. Received: index={index}, name={name}.")
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only has "
                                 f"{len(self.layers)} layers.")
            return self.layers[index]
        if name is not None:
            for layer in self.layers:
                if layer.name == name:
                    return layer
            raise ValueError(f"No such layer: {name}. Existing layers are: {[l.name for l in self.layers]}.")
        raise ValueError("Provide either a layer name or layer index at `get_layer`.")

    def _unique_name(self, base):
        taken = {layer.name for layer in self.layers}
        if base not in taken:
            return base
        i = 1
        while f"{base}_{i}" in taken:
            i += 1
        return f"{base}_{i}"

    @property
    def declared_input_shape(self):
        if self.input_layer is not None:
            return self.input_layer.declared_input_shape
        if self.layers and self.layers[0].declared_input_shape is not None:
            return self.layers[0].declared_input_shape
        return None

