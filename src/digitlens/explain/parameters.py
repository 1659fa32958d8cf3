"""Where every parameter of a model lives, layer by layer, and how much memory they take.

For the lesson's network:

    flatten   28 x 28 pixels laid end to end = 784 inputs; no weights
    dense     kernel 784 x 256 = 200,704 weights + 256 biases = 200,960
    dense_1   kernel 256 x 10 = 2,560 weights + 10 biases = 2,570
    total     203,530 parameters, 795.04 KB as float32

The counts are read from the arrays themselves (kernel.size, bias.size), and the wording and size
format are nn/summary.py's, so this table always agrees with model.summary().
"""

from ..nn import summary

BYTES_PER_PARAM = 4  # float32


def parameter_table(model):
    """One row per layer, pointing at its weight matrices, plus the totals.

    Returns {"layers": [{"name", "type", "output_shape", "kernel_shape" ([inputs, units] or None),
    "bias_shape", "weights" (kernel entries), "biases", "params", "bytes", "text"}],
    "total", "bytes", "size" (e.g. "795.04 KB"), "optimizer": {"params", "size"} or None}.
    "text" reads like "kernel 784 x 256 = 200,704 weights + 256 biases = 200,960".
    """
    layers = []
    for layer, row in zip(model.layers, summary.layer_rows(model)):
        shapes = layer.param_shapes()
        kernel = getattr(layer, "kernel", None) if "kernel" in shapes else None
        bias = getattr(layer, "bias", None) if "bias" in shapes else None
        weights = int(kernel.size) if kernel is not None else 0
        biases = int(bias.size) if bias is not None else 0
        params = weights + biases
        if kernel is not None:
            text = f"kernel {kernel.shape[0]:,} x {kernel.shape[1]:,} = {weights:,} weights"
            text += f" + {biases:,} biases = {params:,}" if bias is not None else ""
        else:
            text = row["arithmetic"]
        layers.append({"name": layer.name, "type": row["type"], "output_shape": row["output_shape"],
                       "kernel_shape": list(kernel.shape) if kernel is not None else None,
                       "bias_shape": list(bias.shape) if bias is not None else None,
                       "weights": weights, "biases": biases, "params": params,
                       "bytes": params * BYTES_PER_PARAM, "text": text, "arithmetic": row["arithmetic"]})
    total = sum(row["params"] for row in layers)
    optimizer_params = summary.optimizer_param_count(model)
    optimizer = None
    if optimizer_params is not None:
        optimizer = {"name": model.optimizer.name, "params": optimizer_params,
                     "size": summary.format_size(optimizer_params)}
    return {"layers": layers, "total": total, "bytes": total * BYTES_PER_PARAM,
            "size": summary.format_size(total),
            "sum_text": " + ".join(f"{r['params']:,}" for r in layers if r["params"]) + f" = {total:,}",
            "optimizer": optimizer}
