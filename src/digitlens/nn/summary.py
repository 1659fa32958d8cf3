"""model.summary(): Keras's table, then where every parameter count comes from.

The table has the same rows, shapes and numbers as Keras 3 prints for the same model (layer name
and type, output shape with None for the batch, parameter count, totals with their size at 4
bytes per float32 parameter). Below it, digitlens adds the arithmetic a learner wants:

    dense      784 inputs x 256 units = 200,704 weights + 256 biases = 200,960
"""

import math


def layer_rows(model):
    """One dict per layer: name, type, output shape, params and where the count comes from."""
    model._require_built()
    rows = []
    for layer in model.layers:
        shape = "(None, " + ", ".join(str(d) for d in layer.output_shape) + ")"
        rows.append({"name": layer.name, "type": type(layer).__name__, "output_shape": shape,
                     "params": layer.count_params(), "arithmetic": arithmetic(layer)})
    return rows


def arithmetic(layer):
    """How a layer's parameter count is made, in words and numbers."""
    kind = type(layer).__name__
    if kind == "Flatten":
        dims = " x ".join(str(d) for d in layer.input_shape)
        return f"{dims} pixels laid end to end = {layer.output_shape[0]:,} inputs; no weights"
    if kind == "Dense":
        n_in, units = layer.input_shape[0], layer.units
        text = f"{n_in:,} inputs x {units:,} units = {n_in * units:,} weights"
        if layer.use_bias:
            text += f" + {units:,} biases = {layer.count_params():,}"
        return text
    if kind == "Dropout":
        return f"drops {layer.rate:.0%} of its inputs while training; no weights"
    return "no weights"


def format_size(count):
    """Keras's size column: count x 4 bytes, divided by 1024 while it is at least 1024."""
    size = count * 4.0
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024


def optimizer_param_count(model):
    """Keras counts an optimizer's variables once it has taken a step: its slots + 2 scalars."""
    optimizer = model.optimizer
    if optimizer is None or optimizer.iterations == 0:
        return None
    return sum(slot.size for slot in optimizer.slots().values()) + 2


def summary_text(model):
    rows = layer_rows(model)
    widths = (33, 24, 15)

    def rule(left, fill, mid, right):
        return left + mid.join(fill * w for w in widths) + right

    def line(cells, edge):
        name, shape, params = cells
        return (f"{edge} {name:<{widths[0] - 2}} {edge} {shape:<{widths[1] - 2}} "
                f"{edge} {params:>{widths[2] - 2}} {edge}")

    out = [f'Model: "{model.name}"', rule("┏", "━", "┳", "┓"),
           line(("Layer (type)", "Output Shape", "Param #"), "┃"), rule("┡", "━", "╇", "┩")]
    for i, row in enumerate(rows):
        out.append(line((f"{row['name']} ({row['type']})", row["output_shape"], f"{row['params']:,}"), "│"))
        out.append(rule("├", "─", "┼", "┤") if i < len(rows) - 1 else rule("└", "─", "┴", "┘"))
    total = sum(row["params"] for row in rows)
    optimizer_params = optimizer_param_count(model)
    # Like Keras, "Total" counts the optimizer's variables too once it has them.
    everything = total + (optimizer_params or 0)
    out.append(f" Total params: {everything:,} ({format_size(everything)})")
    out.append(f" Trainable params: {total:,} ({format_size(total)})")
    out.append(f" Non-trainable params: 0 ({format_size(0)})")
    if optimizer_params is not None:
        out.append(f" Optimizer params: {optimizer_params:,} ({format_size(optimizer_params)})")
    out.append("")
    out.append(" Where the numbers come from:")
    name_width = max(len(row["name"]) for row in rows)
    for row in rows:
        out.append(f"   {row['name']:<{name_width}}  {row['arithmetic']}")
    out.append(f"   {'total':<{name_width}}  " + " + ".join(f"{r['params']:,}" for r in rows
                                                         if r["params"]) + f" = {total:,} parameters")
    if optimizer_params is not None:
        out.append(f"   {'':<{name_width}}  + {optimizer_params:,} numbers the {model.optimizer.name} optimizer "
                   f"keeps ({optimizer_params - 2:,} per-weight + 2) = {everything:,}, Keras's \"Total\"")
    return "\n".join(out)


def summary_html(model):
    """The summary as an HTML table, for notebooks (Sequential._repr_html_)."""
    from html import escape

    if not model.built:
        return f"<p>Sequential {escape(model.name)!s}: not built yet</p>"
    rows = layer_rows(model)
    total = sum(row["params"] for row in rows)
    cells = "".join(
        f"<tr><td>{escape(r['name'])} ({r['type']})</td><td>{r['output_shape']}</td>"
        f"<td style='text-align:right'>{r['params']:,}</td><td>{escape(r['arithmetic'])}</td></tr>"
        for r in rows)
    return (f"<table><caption>Model: {escape(model.name)}</caption><thead><tr><th>Layer (type)</th>"
            f"<th>Output Shape</th><th>Param #</th><th>where the count comes from</th></tr></thead>"
            f"<tbody>{cells}</tbody><tfoot><tr><td colspan='4'>Total params: {total:,} "
            f"({format_size(total)})</td></tr></tfoot></table>")
