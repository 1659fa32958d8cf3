"""Export a trained model as ONNX, to run it without digitlens (onnxruntime, browsers, phones).

The graph is the lesson's arithmetic, one node per step, in ONNX's standard operators:

    images  float32 [N, 28, 28]         N is left open: any batch size
    Flatten(axis=1)                     [N, 784]
    Gemm(kernel, bias)                  [N, 256]   x @ kernel + bias, kernel (784, 256) as is
    Relu / Sigmoid / Tanh               (a linear layer adds no node)
    Gemm(kernel_1, bias_1)              [N, 10]
    Softmax(axis=-1)                    probs [N, 10]

Each layer type's nodes are its entry in onnx_layers.py, which also turns images channels first
for ONNX's convolution and pooling and back for Flatten (see there). Dropout only acts while
training, so it has no node. The model's IR version is set explicitly (8, with opset 13): onnx stamps its own
newest version otherwise, which older onnxruntime builds refuse. Left out: training.
"""

from ..errors import DigitlensError, ModelFileError
from ..atomic import atomic_write
from .onnx_layers import ONNX_NODES, Graph

IR_VERSION = 8


def build_graph(model, opset=13):
    """The ONNX ModelProto for a built model (checked with onnx.checker)."""
    import onnx
    from onnx import TensorProto, helper

    graph = Graph()
    current = "images"
    for layer in model.layers:
        entry = ONNX_NODES.get(layer.kind)
        if entry is None:
            raise DigitlensError(f"cannot export a {layer.kind} layer to ONNX: expected one of "
                                 f"{', '.join(ONNX_NODES)}")
        current = entry(layer, current, graph)
    current = graph.channels_last_of(current, "probs")        # the output in Keras's layout too
    nodes = graph.nodes
    if nodes and nodes[-1].output[0] == current:
        nodes[-1].output[0] = "probs"                  # the last step's result is the output
    else:
        nodes.append(helper.make_node("Identity", [current], ["probs"], name="probs"))

    onnx_graph = helper.make_graph(
        nodes, model.name,
        inputs=[helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", *model.input_shape])],
        outputs=[helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", *model.output_shape])],
        initializer=graph.weights)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(onnx_graph, producer_name="digitlens", opset_imports=opsets)
    proto.ir_version = max(IR_VERSION, helper.find_min_ir_version_for(opsets))  # 8 for opset 13
    onnx.checker.check_model(proto)
    return proto


def export(model, path, opset=13):
    """Write the ONNX graph of `model` to `path` (atomically)."""
    proto = build_graph(model, opset=opset)
    with atomic_write(path, error=ModelFileError) as tmp:
        with open(tmp, "wb") as f:
            f.write(proto.SerializeToString())
