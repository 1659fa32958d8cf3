"""Each layer type's ONNX nodes: the one entry a new layer adds to the exporter.

An entry takes the layer, the name of the tensor flowing in and the graph being built, adds the
layer's nodes and weights, and returns the name of the tensor flowing out. The tensors are in
Keras's layout (batch first, channels last), as digitlens computes them.

    Flatten   Flatten(axis=1)                               [N, 28, 28] -> [N, 784]
    Dense     Gemm(kernel, bias), then its activation       x @ kernel + bias, kernel (in, units) as is
    Dropout   nothing: it only acts while training
"""

import numpy as np

ACTIVATION_OPS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax",
                  "linear": None}


class Graph:
    """The nodes and weights of the ONNX graph being built, with a name for each new tensor."""

    def __init__(self):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.weights = [], []

    def node(self, op, inputs, output, name, **attributes):
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=name, **attributes))
        return output

    def weight(self, name, value, dtype=np.float32):
        self.weights.append(self.numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def activation(self, layer, current):
        """The layer's activation as a node (none for linear)."""
        op = ACTIVATION_OPS[layer.activation.name]
        if op is None:
            return current
        attributes = {"axis": -1} if op == "Softmax" else {}
        return self.node(op, [current], f"{layer.name}_out", f"{layer.name}_{layer.activation.name}",
                         **attributes)


def flatten(layer, current, graph):
    return graph.node("Flatten", [current], f"{layer.name}_out", layer.name, axis=1)


def dense(layer, current, graph):
    inputs = [current, graph.weight(f"{layer.name}_kernel", layer.kernel)]
    if layer.use_bias:
        inputs.append(graph.weight(f"{layer.name}_bias", layer.bias))
    # Gemm computes A @ B + C: with transB=0, B is the kernel as Keras stores it (in, units).
    z = graph.node("Gemm", inputs, f"{layer.name}_z", f"{layer.name}_gemm")
    return graph.activation(layer, z)


def nothing(layer, current, graph):
    return current


ONNX_NODES = {"Flatten": flatten, "Dense": dense, "Dropout": nothing}
