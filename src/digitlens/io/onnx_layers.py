"""Each layer type's ONNX nodes: the one entry a new layer adds to the exporter.

An entry takes the layer, the name of the tensor flowing in and the graph being built, adds the
layer's nodes and weights, and returns the name of the tensor flowing out.

    Flatten        Flatten(axis=1)                          [N, 28, 28] -> [N, 784]
    Dense          Gemm(kernel, bias), then its activation  x @ kernel + bias, kernel (in, units) as is
    Dropout        nothing: it only acts while training
    Conv2D         Conv(kernel as (filters, channels, KH, KW), bias, strides, pads), its activation
    MaxPooling2D   MaxPool(kernel_shape, strides, pads)
    AveragePooling2D   AveragePool(...), padded positions not counted (count_include_pad 0)
    GlobalAveragePooling2D   GlobalAveragePool, then Flatten to [N, channels]
    BatchNormalization   BatchNormalization(gamma, beta, moving mean, moving variance, epsilon)
    Reshape        Reshape to [-1, *target shape]

Layouts: digitlens and Keras keep images channels last, [N, H, W, C]; ONNX's Conv, pooling and
BatchNormalization want channels first, [N, C, H, W]. The graph remembers which layout its
current tensor is in, and a layer that needs the other one first adds a Transpose - so the
course's CNN has one Transpose into channels first before its Conv and one back before Flatten,
which keeps Keras's (row, column, channel) order of the flattened values.
"""

import numpy as np

from ..nn.conv import padding_amounts

ACTIVATION_OPS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax",
                  "linear": None}


class Graph:
    """The nodes and weights of the ONNX graph being built, with a name for each new tensor."""

    def __init__(self):
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.nodes, self.weights = [], []
        self.channels_first = False       # the current tensor's layout: [N, C, H, W] or Keras's [N, H, W, C]

    def node(self, op, inputs, output, name, **attributes):
        self.nodes.append(self.helper.make_node(op, inputs, [output], name=name, **attributes))
        return output

    def weight(self, name, value, dtype=np.float32):
        self.weights.append(self.numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def channels_first_of(self, current, name):
        """The current [N, H, W, C] tensor as [N, C, H, W] (a Transpose, unless it already is)."""
        if self.channels_first:
            return current
        self.channels_first = True
        return self.node("Transpose", [current], f"{name}_nchw", f"{name}_to_channels_first", perm=[0, 3, 1, 2])

    def channels_last_of(self, current, name):
        """The current tensor in Keras's layout, [N, H, W, C] (a Transpose, if it is channels first)."""
        if not self.channels_first:
            return current
        self.channels_first = False
        return self.node("Transpose", [current], f"{name}_nhwc", f"{name}_to_channels_last", perm=[0, 2, 3, 1])

    def activation(self, layer, current):
        """The layer's activation as a node (none for linear)."""
        op = ACTIVATION_OPS[layer.activation.name]
        if op is None:
            return current
        attributes = {"axis": -1} if op == "Softmax" else {}
        return self.node(op, [current], f"{layer.name}_out", f"{layer.name}_{layer.activation.name}",
                         **attributes)


def flatten(layer, current, graph):
    current = graph.channels_last_of(current, layer.name)          # Keras's order of the values
    return graph.node("Flatten", [current], f"{layer.name}_out", layer.name, axis=1)


def reshape(layer, current, graph):
    current = graph.channels_last_of(current, layer.name)
    shape = graph.weight(f"{layer.name}_shape", [-1, *layer.output_shape], np.int64)
    return graph.node("Reshape", [current, shape], f"{layer.name}_out", layer.name)


def dense(layer, current, graph):
    current = graph.channels_last_of(current, layer.name)
    inputs = [current, graph.weight(f"{layer.name}_kernel", layer.kernel)]
    if layer.use_bias:
        inputs.append(graph.weight(f"{layer.name}_bias", layer.bias))
    # Gemm computes A @ B + C: with transB=0, B is the kernel as Keras stores it (in, units).
    z = graph.node("Gemm", inputs, f"{layer.name}_z", f"{layer.name}_gemm")
    return graph.activation(layer, z)


def nothing(layer, current, graph):
    return current


def window_attributes(layer, size):
    """ONNX's kernel_shape, strides and pads ([top, left, bottom, right]) for a sliding window."""
    (top, bottom), (left, right) = (padding_amounts(n, k, s, layer.padding)
                                    for n, k, s in zip(layer.input_shape[:2], size, layer.strides))
    return {"kernel_shape": list(size), "strides": list(layer.strides), "pads": [top, left, bottom, right]}


def conv2d(layer, current, graph):
    current = graph.channels_first_of(current, layer.name)
    kernel = np.transpose(layer.kernel, (3, 2, 0, 1))              # (KH, KW, C, F) -> (F, C, KH, KW)
    inputs = [current, graph.weight(f"{layer.name}_kernel", kernel)]
    if layer.use_bias:
        inputs.append(graph.weight(f"{layer.name}_bias", layer.bias))
    z = graph.node("Conv", inputs, f"{layer.name}_z", f"{layer.name}_conv",
                   **window_attributes(layer, layer.kernel_size))
    return graph.activation(layer, z)


def max_pooling(layer, current, graph):
    current = graph.channels_first_of(current, layer.name)
    return graph.node("MaxPool", [current], f"{layer.name}_out", layer.name,
                      **window_attributes(layer, layer.pool_size))


def average_pooling(layer, current, graph):
    current = graph.channels_first_of(current, layer.name)
    return graph.node("AveragePool", [current], f"{layer.name}_out", layer.name, count_include_pad=0,
                      **window_attributes(layer, layer.pool_size))


def global_average_pooling(layer, current, graph):
    current = graph.channels_first_of(current, layer.name)
    pooled = graph.node("GlobalAveragePool", [current], f"{layer.name}_pooled", layer.name)  # [N, C, 1, 1]
    if layer.keepdims:
        return pooled
    graph.channels_first = False                                   # [N, C]: one layout only
    return graph.node("Flatten", [pooled], f"{layer.name}_out", f"{layer.name}_flatten", axis=1)


def batch_normalization(layer, current, graph):
    # ONNX normalises axis 1: images go channels first; flat [N, C] is already that way; any
    # other rank is turned so its channels come second, then back.
    rank = len(layer.input_shape) + 1
    back = None
    if rank == 4:
        current = graph.channels_first_of(current, layer.name)
    elif rank > 2:
        perm = [0, rank - 1, *range(1, rank - 1)]
        current = graph.node("Transpose", [current], f"{layer.name}_in", f"{layer.name}_channels_second", perm=perm)
        back = [0, *range(2, rank), 1]
    c = layer.channels
    inputs = [graph.weight(f"{layer.name}_gamma", layer.gamma if layer.scale else np.ones(c)),
              graph.weight(f"{layer.name}_beta", layer.beta if layer.center else np.zeros(c)),
              graph.weight(f"{layer.name}_moving_mean", layer.moving_mean),
              graph.weight(f"{layer.name}_moving_variance", layer.moving_variance)]
    out = graph.node("BatchNormalization", [current, *inputs], f"{layer.name}_out", layer.name,
                     epsilon=layer.epsilon)
    if back is not None:
        out = graph.node("Transpose", [out], f"{layer.name}_back", f"{layer.name}_channels_last", perm=back)
    return out


ONNX_NODES = {"Flatten": flatten, "Dense": dense, "Dropout": nothing, "Conv2D": conv2d, "MaxPooling2D": max_pooling,
              "AveragePooling2D": average_pooling, "GlobalAveragePooling2D": global_average_pooling,
              "BatchNormalization": batch_normalization, "Reshape": reshape}
