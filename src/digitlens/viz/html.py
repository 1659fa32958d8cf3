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
.pos { color: #2166ac; } .neg { color: #b2182b; }
details { margin: 8px 0; } summary { cursor: pointer; color: #2166ac; }
code { background: #f4f4f4; padding: 1px 4px; }
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
