"""Where every parameter of a model lives, layer by layer, and how much memory they take.

For the lesson's network:

    flatten   28 x 28 pixels laid end to end = 784 inputs; no weights
    dense     784 inputs x 256 units = 200,704 weights + 256 biases = 200,960
    dense_1   256 inputs x 10 units = 2,560 weights + 10 biases = 2,570
    total     203,530 parameters, 795.04 KB as float32

Every row is the layer's own description (nn/layer.py): its parameter shapes and the one sentence
that says where its count comes from, the same sentence model.summary() prints.
"""

import math

from ..nn import summary

BYTES_PER_PARAM = 4  # float32


def parameter_table(model):
    """One row per layer, pointing at its weight arrays, plus the totals.

    Returns {"layers": [{"name", "type", "label", "output_shape", "shapes" ({name: shape} of every
    weight array, trainable and not), "kernel_shape" (or None), "bias_shape" (or None), "weights"
    (kernel entries), "biases", "params", "trainable", "non_trainable", "bytes", "text" (the
    layer's arithmetic sentence), "what"}], "total", "trainable", "non_trainable", "bytes", "size"
    (e.g. "795.04 KB"), "sum_text", "optimizer": {"name", "params", "size"} or None}.
    """
    model._require_built()
    layers = []
    for d, row in zip(model.describe(), summary.layer_rows(model)):
        shapes = {**d.params, **d.state}
        kernel, bias = shapes.get("kernel"), shapes.get("bias")
        layers.append({"name": d.name, "type": d.type, "label": d.label, "output_shape": row["output_shape"],
                       "shapes": {k: list(v) for k, v in shapes.items()},
                       "kernel_shape": list(kernel) if kernel is not None else None,
                       "bias_shape": list(bias) if bias is not None else None,
                       "weights": math.prod(kernel) if kernel is not None else 0,
                       "biases": math.prod(bias) if bias is not None else 0,
                       "params": d.count, "trainable": d.trainable_count, "non_trainable": d.non_trainable_count,
                       "bytes": d.count * BYTES_PER_PARAM, "text": d.arithmetic, "arithmetic": d.arithmetic,
                       "what": d.what})
    total = sum(row["params"] for row in layers)
    optimizer_params = summary.optimizer_param_count(model)
    optimizer = None
    if optimizer_params is not None:
        optimizer = {"name": model.optimizer.name, "params": optimizer_params,
                     "size": summary.format_size(optimizer_params)}
    return {"layers": layers, "total": total, "bytes": total * BYTES_PER_PARAM,
            "trainable": sum(row["trainable"] for row in layers),
            "non_trainable": sum(row["non_trainable"] for row in layers),
            "size": summary.format_size(total),
            "sum_text": " + ".join(f"{r['params']:,}" for r in layers if r["params"]) + f" = {total:,}",
            "optimizer": optimizer}
