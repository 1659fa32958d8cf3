"""Export a trained model as ONNX, to run it without digitlens (onnxruntime, browsers, phones).

The graph is the lesson's arithmetic, one node per step, in ONNX's standard operators:

    images  float32 [N, 28, 28]         N is left open: any batch size
    Flatten(axis=1)                     [N, 784]
    Gemm(kernel, bias)                  [N, 256]   x @ kernel + bias, kernel (784, 256) as is
    Relu / Sigmoid / Tanh               (a linear layer adds no node)
    Gemm(kernel_1, bias_1)              [N, 10]
    Softmax(axis=-1)                    probs [N, 10]

Dropout only acts while training, so it has no node. The model's IR version is set explicitly
(8, with opset 13): onnx stamps its own newest version otherwise, which older onnxruntime builds
refuse. Left out: training, and any layer but Flatten, Dense and Dropout.
"""

import numpy as np

from ..errors import DigitlensError
from ..nn.layers import Dense, Dropout, Flatten
from .atomic import atomic_write

IR_VERSION = 8
ACTIVATION_OPS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax",
                  "linear": None}


def build_graph(model, opset=13):
    """The ONNX ModelProto for a built model (checked with onnx.checker)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, weights = [], []
    current = "images"
    for layer in model.layers:
        name = layer.name
        if isinstance(layer, Dropout):
            continue                                   # does nothing at inference
        if isinstance(layer, Flatten):
            nodes.append(helper.make_node("Flatten", [current], [f"{name}_out"], axis=1, name=name))
            current = f"{name}_out"
        elif isinstance(layer, Dense):
            inputs = [current, f"{name}_kernel"]
            weights.append(numpy_helper.from_array(np.asarray(layer.kernel, np.float32), f"{name}_kernel"))
            if layer.use_bias:
                inputs.append(f"{name}_bias")
                weights.append(numpy_helper.from_array(np.asarray(layer.bias, np.float32), f"{name}_bias"))
            # Gemm computes A @ B + C: with transB=0, B is the kernel as Keras stores it (in, units).
            nodes.append(helper.make_node("Gemm", inputs, [f"{name}_z"], name=f"{name}_gemm"))
            current = f"{name}_z"
            op = ACTIVATION_OPS[layer.activation.name]
            if op is not None:
                attributes = {"axis": -1} if op == "Softmax" else {}
                nodes.append(helper.make_node(op, [current], [f"{name}_out"],
                                              name=f"{name}_{layer.activation.name}", **attributes))
                current = f"{name}_out"
        else:
            raise DigitlensError(f"cannot export a {type(layer).__name__} layer to ONNX: "
                                 "expected Flatten, Dense or Dropout")
    if nodes:
        nodes[-1].output[0] = "probs"                  # the last step's result is the output
    else:
        nodes.append(helper.make_node("Identity", [current], ["probs"], name="probs"))

    graph = helper.make_graph(
        nodes, model.name,
        inputs=[helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", *model.input_shape])],
        outputs=[helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", *model.output_shape])],
        initializer=weights)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, producer_name="digitlens", opset_imports=opsets)
    proto.ir_version = max(IR_VERSION, helper.find_min_ir_version_for(opsets))  # 8 for opset 13
    onnx.checker.check_model(proto)
    return proto


def export(model, path, opset=13):
    """Write the ONNX graph of `model` to `path` (atomically)."""
    proto = build_graph(model, opset=opset)
    with atomic_write(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(proto.SerializeToString())
