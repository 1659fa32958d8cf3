"""model.summary(): Keras's table, then where every parameter count comes from.

The table has the same rows, shapes and numbers as Keras 3 prints for the same model (layer name
and type, output shape with None for the batch, parameter count, totals with their size at 4
bytes per float32 parameter). Below it, digitlens adds the arithmetic a learner wants:

    dense      784 inputs x 256 units = 200,704 weights + 256 biases = 200,960

Every row is read from the layer's own Description (layer.py), so a new layer type appears here
with nothing added to this file. A model that does not know its input shape yet is shown as
Keras shows it: "?" for each output shape and "0 (unbuilt)" for each count.
"""


def layer_rows(model):
    """One dict per layer: name, type, output shape, params (trainable and not), and the arithmetic."""
    rows = []
    for d in model.describe():
        rows.append({"name": d.name, "type": d.type,
                     "output_shape": "(None, " + ", ".join(map(str, d.output_shape)) + ")" if d.built else "?",
                     "params": d.count, "trainable": d.trainable_count, "non_trainable": d.non_trainable_count,
                     "arithmetic": d.arithmetic, "what": d.what, "built": d.built})
    return rows


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


def totals(model):
    """{"trainable", "non_trainable", "optimizer" (None before a step), "total"} as Keras counts them."""
    rows = layer_rows(model)
    trainable = sum(row["trainable"] for row in rows)
    non_trainable = sum(row["non_trainable"] for row in rows)
    optimizer = optimizer_param_count(model) if model.built else None
    # Like Keras, "Total" counts the optimizer's variables too once it has them.
    return {"trainable": trainable, "non_trainable": non_trainable, "optimizer": optimizer,
            "total": trainable + non_trainable + (optimizer or 0), "rows": rows}


def wrap(text, width):
    """Lines of at most `width` characters, broken at spaces; a word too long for a line is cut
    short with "…" (Keras lays its table out with rich, which does both)."""
    lines = []
    for word in text.split(" "):
        if len(word) > width:
            word = word[:width - 1] + "…"
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def summary_text(model):
    counts = totals(model)
    rows = counts["rows"]
    widths = (33, 24, 15)

    def rule(left, fill, mid, right):
        return left + mid.join(fill * w for w in widths) + right

    def line(cells, edge):
        # A cell too narrow for its text wraps at spaces onto more lines, as Keras's table does.
        name, shape, params = (wrap(text, w - 2) for text, w in zip(cells, widths))
        lines = []
        for k in range(max(len(name), len(shape), len(params))):
            a, b, c = (part[k] if k < len(part) else "" for part in (name, shape, params))
            lines.append(f"{edge} {a:<{widths[0] - 2}} {edge} {b:<{widths[1] - 2}} {edge} {c:>{widths[2] - 2}} {edge}")
        return "\n".join(lines)

    out = [f'Model: "{model.name}"', rule("┏", "━", "┳", "┓"),
           line(("Layer (type)", "Output Shape", "Param #"), "┃"), rule("┡", "━", "╇", "┩")]
    for i, row in enumerate(rows):
        params = f"{row['params']:,}" if row["built"] else "0 (unbuilt)"
        out.append(line((f"{row['name']} ({row['type']})", row["output_shape"], params), "│"))
        out.append(rule("├", "─", "┼", "┤") if i < len(rows) - 1 else rule("└", "─", "┴", "┘"))
    if not rows:
        out.append(rule("└", "─", "┴", "┘"))
    out.append(f" Total params: {counts['total']:,} ({format_size(counts['total'])})")
    out.append(f" Trainable params: {counts['trainable']:,} ({format_size(counts['trainable'])})")
    out.append(f" Non-trainable params: {counts['non_trainable']:,} ({format_size(counts['non_trainable'])})")
    if counts["optimizer"] is not None:
        out.append(f" Optimizer params: {counts['optimizer']:,} ({format_size(counts['optimizer'])})")
    if not model.built:
        return "\n".join(out)
    out.append("")
    out.append(" Where the numbers come from:")
    name_width = max(len(row["name"]) for row in rows)
    for row in rows:
        out.append(f"   {row['name']:<{name_width}}  {row['arithmetic']}")
    layers_total = counts["trainable"] + counts["non_trainable"]
    out.append(f"   {'total':<{name_width}}  " + " + ".join(f"{r['params']:,}" for r in rows if r["params"])
               + f" = {layers_total:,} parameters")
    if counts["non_trainable"]:
        out.append(f"   {'':<{name_width}}  of which {counts['non_trainable']:,} are not trained by the "
                   "optimizer (moving statistics)")
    if counts["optimizer"] is not None:
        optimizer = counts["optimizer"]
        out.append(f"   {'':<{name_width}}  + {optimizer:,} numbers the {model.optimizer.name} optimizer "
                   f"keeps ({optimizer - 2:,} per-weight + 2) = {counts['total']:,}, Keras's \"Total\"")
    return "\n".join(out)


def summary_html(model):
    """The summary as an HTML table, for notebooks (Sequential._repr_html_)."""
    from html import escape

    counts = totals(model)
    cells = "".join(
        f"<tr><td>{escape(r['name'])} ({escape(r['type'])})</td><td>{escape(r['output_shape'])}</td>"
        f"<td style='text-align:right'>{r['params']:,}{'' if r['built'] else ' (unbuilt)'}</td>"
        f"<td>{escape(r['arithmetic'])}</td></tr>"
        for r in counts["rows"])
    return (f"<table><caption>Model: {escape(model.name)}</caption><thead><tr><th>Layer (type)</th>"
            f"<th>Output Shape</th><th>Param #</th><th>where the count comes from</th></tr></thead>"
            f"<tbody>{cells}</tbody><tfoot><tr><td colspan='4'>Total params: {counts['total']:,} "
            f"({format_size(counts['total'])})</td></tr></tfoot></table>")
