"""HTML building blocks for the report and for Jupyter's rich display.

    model_html(model)            the diagram and the parameter table, for a notebook
    explanation_html(e)          an Explanation's pictures and numbers (Explanation._repr_html_)

Everything is self-contained: pictures are inline SVG or PNG as base64 data URIs, the style sheet
is inline, and nothing refers to the network, so a saved page opens anywhere, offline.
"""

from html import escape

from .output import data_uri

CSS = """
body { font-family: "DejaVu Sans", Verdana, sans-serif; color: #222; margin: 0; background: #fafafa; }
main { max-width: 1240px; margin: 0 auto; padding: 16px 24px 48px; background: #fff; }
h1 { font-size: 26px; margin: 12px 0 4px; }
h2 { font-size: 20px; margin: 34px 0 6px; border-bottom: 2px solid #e0e0e0; padding-bottom: 4px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
p, li { line-height: 1.45; max-width: 1000px; }
nav { display: flex; flex-wrap: wrap; row-gap: 4px; }
nav a { margin-right: 14px; color: #2166ac; text-decoration: none; }
img, svg.diagram { max-width: 100%; height: auto; display: block; margin: 8px 0; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; display: block; max-width: 100%; overflow-x: auto; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f2f2f2; }
td.text, th.text { text-align: left; }
.note { color: #555; font-size: 13px; }
.big { font-size: 18px; font-weight: bold; }
.right { color: #1a9850; font-weight: bold; }
.wrong { color: #b2182b; font-weight: bold; }
.doubt { color: #7a4b00; background: #fff3d6; padding: 1px 6px; border-radius: 3px; }
.pos { color: #2166ac; } .neg { color: #b2182b; }
details { margin: 8px 0; } summary { cursor: pointer; color: #2166ac; }
code { background: #f4f4f4; padding: 1px 4px; }
.caption { font-size: 13px; color: #444; margin: 14px 0 4px; }
.tile-grid { display: grid; gap: 6px 4px; margin: 6px 0; max-width: 100%; overflow-x: auto; }
.tile-grid figure { margin: 0; }
.tile-grid .px { image-rendering: pixelated; border: 1px solid #ddd; }
.tile-grid figcaption { font-size: 10px; color: #222; text-align: center; white-space: nowrap; }
.tile-grid figcaption.dim { color: #8c8c8c; }
.legend { width: 260px; margin: 6px 0 12px; }
.legend-bar { height: 10px; border: 1px solid #ccc; border-radius: 3px; }
.legend-labels { display: flex; justify-content: space-between; font-size: 11px; color: #444; }
table.confusion td { width: 38px; text-align: center; }
table.per-class .barcell { width: 320px; }
.bar { background: #eee; height: 10px; border-radius: 3px; }
.bar span { display: block; height: 100%; background: #8c8c8c; border-radius: 3px; }
.bar span.focus { background: #6a3d9a; }
.bar span.prediction { background: #e08214; }
.timeline { margin: 10px 0; }
.tl-control { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; font-size: 14px; }
.tl-control input { width: min(520px, 100%); }
.tl-control output { font-weight: bold; }
.tl-parts { display: flex; gap: 8px 28px; flex-wrap: wrap; }
.tl-probes { overflow-x: auto; max-width: 100%; }
.tl-probes .tile-grid { overflow: visible; max-width: none; margin-bottom: 2px; }
.tl-bars { display: grid; gap: 4px; }
.tl-probe { display: flex; flex-direction: column; align-items: center; font-size: 10px; }
.tl-bar { width: 14px; height: 44px; background: #eee; border-radius: 3px; display: flex; align-items: flex-end; }
.tl-bar span { display: block; width: 100%; border-radius: 3px; }
.tl-bar span.right { background: #1a9850; }
.tl-bar span.wrong { background: #8c8c8c; }
table.confusion td a { color: inherit; font-weight: bold; }
.cell-gallery { margin: 14px 0 4px; }
.chart-scroll { overflow-x: auto; max-width: 100%; }
svg.probes-chart { width: 100%; min-width: 640px; max-width: 900px; height: auto; display: block; margin: 6px 0; }
"""


def page(title, body):
    """A complete HTML document with the inline style sheet."""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n{body}\n"
            f"</main>\n</body>\n</html>\n")


def section(id, title, *parts):
    return f'<section id="{id}">\n<h2>{escape(title)}</h2>\n' + "\n".join(parts) + "\n</section>"


def para(text, cls=None):
    """A paragraph of already-safe HTML (escape user text before passing it in)."""
    return f'<p class="{cls}">{text}</p>' if cls else f"<p>{text}</p>"


def img(picture, alt):
    """An <img> holding the picture (a Figure or an RGB array) as an inline PNG."""
    return f'<img src="{data_uri(picture)}" alt="{escape(alt)}">'


def inline_svg(svg, cls="diagram"):
    """SVG text for embedding in HTML: without its XML namespace (HTML5 knows <svg>)."""
    svg = svg.replace(' xmlns="http://www.w3.org/2000/svg"', "", 1)
    return svg.replace("<svg ", f'<svg class="{cls}" ', 1)


def table(headers, rows, text_columns=(0,)):
    """An HTML table; cells are escaped; columns in text_columns are left-aligned."""
    def cell(tag, i, value):
        cls = ' class="text"' if i in text_columns else ""
        return f"<{tag}{cls}>{escape(str(value))}</{tag}>"

    head = "<tr>" + "".join(cell("th", i, h) for i, h in enumerate(headers)) + "</tr>"
    body = "\n".join("<tr>" + "".join(cell("td", i, v) for i, v in enumerate(row)) + "</tr>"
                     for row in rows)
    return f"<table>\n{head}\n{body}\n</table>"


def softmax_table(s, names, prediction):
    """The softmax, one column per step (z, z - max, exp, / sum), with a bar for each probability;
    the prediction's bar in orange, as in every picture."""
    rows = []
    for k in range(len(s["z"])):
        cls = ' class="prediction"' if k == prediction else ""
        bar = f'<div class="bar"><span{cls} style="width:{100 * s["probs"][k]:.2f}%"></span></div>'
        rows.append(f'<tr><td class="text">{escape(str(names[k]))}</td><td>{s["z"][k]:.4f}</td><td>{s["z_minus_max"][k]:.4f}</td>'
                    f'<td>{s["exp"][k]:.6g}</td><td>{s["probs"][k]:.6f}</td><td class="text barcell">{bar}</td></tr>')
    rows.append(f'<tr><td class="text">sum</td><td></td><td></td><td>{s["sum"]:.6g}</td><td>{sum(s["probs"]):.6f}</td><td></td></tr>')
    head = ("<tr><th class=\"text\">output</th><th>z</th>"
            f"<th>z - max (max = {s['max']:.4f})</th><th>exp(z - max)</th><th>probability</th><th class=\"text\">0 to 100%</th></tr>")
    return f'<table class="softmax">{head}{"".join(rows)}</table>'


def details(summary, body):
    return f"<details><summary>{escape(summary)}</summary>\n{body}\n</details>"


def parameter_rows(table_):
    rows = [(r["name"], r["type"], r["output_shape"],
             "x".join(str(d) for d in r["kernel_shape"]) if r["kernel_shape"] else "-",
             f"{r['weights']:,}", f"{r['biases']:,}", f"{r['params']:,}", f"{r['bytes']:,}", r["text"])
            for r in table_["layers"]]
    rows.append(("total", "", "", "", f"{sum(r['weights'] for r in table_['layers']):,}",
                 f"{sum(r['biases'] for r in table_['layers']):,}", f"{table_['total']:,}",
                 f"{table_['bytes']:,}", f"{table_['sum_text']} = {table_['size']}"))
    return table(["layer", "type", "output shape", "kernel", "weights", "biases", "parameters", "bytes",
                  "where the number comes from"], rows, text_columns=(0, 1, 2, 8))


def model_html(model):
    """The model drawn as the lesson draws it, with its parameter table."""
    from ..explain.parameters import parameter_table
    from .diagram import diagram_svg

    table_ = parameter_table(model)
    return (f'<div class="digitlens-model"><p><b>{escape(model.name)}</b>: {table_["total"]:,} '
            f'parameters ({table_["size"]})</p>{inline_svg(diagram_svg(model))}'
            f"{parameter_rows(table_)}</div>")


def explanation_html(e):
    """An Explanation (digitlens.explain.explain) as HTML: numbers and pictures for its image."""
    from .path import path_figure, softmax_figure
    from .backprop import backprop_figure

    parts = [f"<h3>{escape(e.model.name)}: {e.parameters['total']:,} parameters "
             f"({e.parameters['size']})</h3>", parameter_rows(e.parameters)]
    if e.trace is not None:
        t = e.trace
        names = t["class_names"]
        parts.append(para(f'Prediction: <span class="big">{escape(names[t["prediction"]])}</span> '
                          f'({t["probabilities"][t["prediction"]]:.1%})'))
        parts.append(img(path_figure(e.model, t, label=e.label), "the image's path through the network"))
        if t["softmax"] is not None:
            parts.append(img(softmax_figure(t), "the softmax step by step"))
    if e.backprop is not None:
        parts.append(img(backprop_figure(e.backprop, e.image), "one backpropagation step"))
        parts.append(para(escape(e.backprop["note"]), "note"))
    return '<div class="digitlens-explanation">' + "\n".join(parts) + "</div>"
