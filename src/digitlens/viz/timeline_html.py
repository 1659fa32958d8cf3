"""The training timeline (nn/timeline.py) as HTML for the self-contained report: light tiles, no figures.

    filmstrip_html(timeline)     a few first-layer neurons (rows) at up to ten recorded steps
                                 (columns): from noise to strokes
    probes_svg(timeline)         each probe image's probability of its right digit at every
                                 recorded step, as a small inline SVG line chart (the report's
                                 light twin of viz.timeline.probes_figure)
    slider_html(timeline)        every snapshot - 16 neurons, each output's template, what the
                                 network said about each probe image - with a slider to move
                                 through them (a few lines of inline JavaScript: works offline)

A timeline holds 20 to 40 snapshots of up to 64 neurons. Drawn as matplotlib figures, or as one
enlarged picture per snapshot (viz/timeline.py's frames, which the GIF is made of), a slider of them
would weigh megabytes; here each snapshot is two small PNGs of 28 x 28 tiles (tiles.py), enlarged by
the browser, with its numbers as HTML. Each neuron's picture is on its own symmetric scale (white =
0), as in the filmstrip figure: early weights are small random numbers and would look blank on the
scale of later ones. The templates of one snapshot share one scale (its ends at the 99.5th
percentile of their sizes, as in the report's other templates), so they can be compared.
Nothing is computed here but colours; the numbers are the timeline's.
"""

from html import escape

import numpy as np

from .style import LIMIT_PERCENTILE, NEUTRAL, TEXT, colorize, ink, symmetric_limit
from .tiles import tile_grid, tile_grid_parts
from .timeline import _require, chosen_columns, hard_count, snapshot_words, step_words

SLIDER_NEURONS = 16


def filmstrip_html(timeline, neurons=8, columns=10):
    """HTML: `neurons` of the recorded first-layer neurons (rows) at up to `columns` steps."""
    _require(timeline)
    picks = chosen_columns(timeline, columns)
    count = len(timeline.neurons)
    rows = np.unique(np.linspace(0, count - 1, min(neurons, count)).round().astype(int))
    snapshots = {k: timeline.weights_at(k) for k in picks}
    tiles, captions, titles = [], [], []
    for r, slot in enumerate(rows):
        for k in picks:
            picture = snapshots[k][slot]
            tiles.append(colorize(picture, symmetric_limit(picture)))
            captions.append(f"{timeline.steps[k]:,}" if r == 0 else "")
            titles.append(f"neuron {timeline.neurons[slot]} at {step_words(timeline, k)}")
    names = ", ".join(str(timeline.neurons[slot]) for slot in rows)
    text = (f"From noise to strokes: rows, top to bottom, are neurons {names} of {timeline.layer}; columns are "
            "the recorded steps (numbered under the first row). Blue: ink here raises the neuron's sum; red: "
            "lowers it. Each picture on its own scale (early weights are tiny).")
    return (f'<p class="caption">{escape(text)}</p>'
            + tile_grid(np.stack(tiles), captions, columns=len(picks), size=52, titles=titles,
                        label="the same neurons' weights at each recorded step"))


def slider_html(timeline, class_names=None, element_id="timeline-slider"):
    """HTML: every snapshot and a slider to move through them, starting at the last."""
    _require(timeline)
    names = class_names or [str(k) for k in range(timeline.templates_at(0).shape[0])]
    count = len(timeline.neurons)
    slots = np.unique(np.linspace(0, count - 1, min(SLIDER_NEURONS, count)).round().astype(int))
    last = len(timeline) - 1
    probe_style, probe_grid = _probe_strip(timeline, names)
    frames, captions = [], []
    for k in range(len(timeline)):
        caption = snapshot_words(timeline, k)
        captions.append(caption)
        frames.append(_frame(timeline, k, slots, names, probe_grid, caption, hidden=k != last))
    return (f'{probe_style}<div class="timeline" id="{element_id}">'
            f'<label class="tl-control">Recorded step <input type="range" min="0" max="{last}" value="{last}" '
            f'step="1" aria-label="recorded training step" aria-valuetext="{escape(captions[-1])}"> '
            f'<output aria-live="polite">{escape(captions[-1])}</output></label>'
            + "".join(frames) + "</div>"
            "<script>(function(){const root=document.getElementById(" + repr(element_id) + ");"
            "const slider=root.querySelector('input');const out=root.querySelector('output');"
            "const frames=[...root.querySelectorAll('.tl-frame')];"
            "slider.addEventListener('input',()=>{const k=Number(slider.value);"
            "frames.forEach((f,i)=>{f.hidden=i!==k;});out.textContent=frames[k].dataset.caption;"
            "slider.setAttribute('aria-valuetext',frames[k].dataset.caption);});})();</script>")


def _frame(timeline, k, slots, names, probe_grid, caption, hidden):
    weights, templates = timeline.weights_at(k)[slots], timeline.templates_at(k)
    neuron_tiles = np.stack([colorize(w, symmetric_limit(w)) for w in weights])
    template_tiles = colorize(templates, symmetric_limit(templates, LIMIT_PERCENTILE))
    parts = [f'<div class="tl-part"><p class="caption">{len(slots)} of the first layer\'s neurons</p>'
             + tile_grid(neuron_tiles, [str(timeline.neurons[s]) for s in slots], columns=8, size=44,
                         label=f"first-layer neurons' weights at {caption}") + "</div>",
             '<div class="tl-part"><p class="caption">each output\'s template (d score / d pixels)</p>'
             + tile_grid(template_tiles, list(names), columns=5, size=44,
                         label=f"each output's template at {caption}") + "</div>"]
    probes = _probe_bars(timeline, k, names)
    return (f'<div class="tl-frame" data-k="{k}" data-caption="{escape(caption)}"{" hidden" if hidden else ""}>'
            f'<div class="tl-parts">{"".join(parts)}</div>'
            + (f'<div class="tl-probes"><p class="caption">the probe images: the probability of the right digit '
               f'(green: read right)</p>{probe_grid}{probes}</div>' if probes else "") + "</div>")


def _probe_strip(timeline, names):
    """(the <style>, the grid) of the probe images, shown in every frame above their bars."""
    if not timeline.probe_labels:
        return "", ""
    captions = [f"a {names[label]}" for label in timeline.probe_labels]
    titles = [f"test image #{i}" for i in timeline.probe_indices]
    return tile_grid_parts(ink(timeline.probe_images), captions, columns=len(captions), size=52,
                           titles=titles, label="the probe images")


def _probe_bars(timeline, k, names):
    """One bar per probe image, under its picture: its right digit's probability at snapshot k."""
    if not timeline.probe_labels:
        return ""
    probs = timeline.probabilities[k]
    cells = []
    for i, label in enumerate(timeline.probe_labels):
        p = float(probs[i, label])
        said = int(np.argmax(probs[i]))
        right = said == label
        title = (f"test image #{timeline.probe_indices[i]}, a {names[label]}: p({names[label]}) = {p:.1%}, "
                 f"read as {names[said]}")
        cells.append(f'<div class="tl-probe" title="{escape(title)}"><div class="tl-bar"><span class="'
                     f'{"right" if right else "wrong"}" style="height:{100 * p:.1f}%"></span></div>'
                     f"<span>{p:.0%}</span></div>")
    return (f'<div class="tl-bars" style="grid-template-columns: repeat({len(cells)}, 52px)">'
            + "".join(cells) + "</div>")


def probes_svg(timeline, class_names=None, width=900, height=300):
    """SVG: each probe image's probability of its right digit (y, 0 to 1) at every recorded step (x,
    on a log scale of step + 1, as the figure draws it): one test image of each digit in grey, the
    least typical ones dark and dashed. Hovering a line names its image."""
    _require(timeline, probes=True)
    names = class_names or [str(k) for k in range(timeline.probabilities.shape[-1])]
    probs = timeline.probabilities                         # (snapshots, probes, classes)
    left, right, top, bottom = 60, 14, 12, 56
    span = np.log1p(max(timeline.steps[-1], 1))
    xs = [left + (width - left - right) * np.log1p(step) / span for step in timeline.steps]

    def y(p):
        return top + (height - top - bottom) * (1.0 - p)

    parts = []
    for p in (0.0, 0.25, 0.5, 0.75, 1.0):                  # the probability axis and its grid
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(p):.1f}" y2="{y(p):.1f}" stroke="#e6e6e6"/>'
                     f'<text x="{left - 6}" y="{y(p) + 4:.1f}" text-anchor="end">{p:.0%}</text>')
    last = -1e9
    for x, step in zip(xs, timeline.steps):                 # the steps, as many as fit without overlap
        if x - last < 18:
            continue
        last = x
        parts.append(f'<text transform="translate({x:.1f},{height - bottom + 14}) rotate(-45)" '
                     f'text-anchor="end">{step:,}</text>')
    typical_count = len(timeline.probe_labels) - hard_count(timeline)     # one of each digit come first
    for i, label in enumerate(timeline.probe_labels):
        typical = i < typical_count
        points = " ".join(f"{x:.1f},{y(float(probs[k, i, label])):.1f}" for k, x in enumerate(xs))
        style = (f'stroke="{NEUTRAL}" stroke-width="1.2" opacity="0.75"' if typical else
                 f'stroke="{TEXT}" stroke-width="1.8" stroke-dasharray="5 3"')
        title = (f"test image #{timeline.probe_indices[i]}, a {names[label]}"
                 + ("" if typical else " (one of the least typical)")
                 + f": p({names[label]}) from {float(probs[0, i, label]):.1%} to {float(probs[-1, i, label]):.1%}")
        parts.append(f'<polyline fill="none" {style} points="{points}"><title>{escape(title)}</title></polyline>')
    parts.append(f'<text x="{(left + width - right) / 2:.0f}" y="{height - 4}" text-anchor="middle">training step'
                 "</text>")
    parts.append(f'<text transform="translate(14,{(top + height - bottom) / 2:.0f}) rotate(-90)" text-anchor="middle">'
                 "p(right digit)</text>")
    label = "each probe image's probability of its right digit at every recorded step"
    return (f'<div class="chart-scroll"><svg class="probes-chart" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{escape(label)}" font-family="DejaVu Sans, Verdana, sans-serif" font-size="11" '
            f'fill="{TEXT}">{"".join(parts)}</svg></div>')
