"""Pictures of a training timeline (nn/timeline.py): how the network learned, step by step.

    filmstrip_figure(timeline)        a few neurons (rows) at the recorded steps (columns): noise
                                      becoming strokes
    probes_figure(timeline)           each probe image's probability of its right digit over the
                                      steps: "watch this digit get recognised"
    frame(timeline, k)                snapshot k as one RGB picture: neurons, templates, probes
    write_film(timeline, "film.gif")  every snapshot as a frame of an animated GIF or APNG
    slider_html(timeline)             the frames with a slider, for the self-contained report

Each weight picture is drawn on its own symmetric scale (white = 0), as in weight_mosaic: early
weights are small random numbers, later ones larger, and one shared scale would show the early
steps as blank. The numbers come from the timeline; nothing is computed here but colours.
"""

from html import escape

import numpy as np

from ..atomic import write_bytes
from ..errors import DigitlensError
from .output import data_uri
from .style import NEUTRAL, TEXT, colorize, drawn_in_house_style, image_axes, ink, \
    new_figure, symmetric_limit

FILM_SUFFIXES = (".gif", ".png", ".apng")


def step_words(timeline, k):
    """"step 50 (epoch 0.03)" for snapshot k."""
    step, epoch = timeline.steps[k], timeline.epochs[k]
    return f"step {step:,} (epoch {epoch:.2f})" if epoch % 1 else f"step {step:,} (end of epoch {epoch:.0f})"


def tiles(pictures, columns, zoom=3, gap=2):
    """Pictures (n, h, w) -> one RGB array of zoomed tiles, each on its own symmetric scale."""
    pictures = np.asarray(pictures)
    n, h, w = pictures.shape
    rows = -(-n // columns)
    cell_h, cell_w = h * zoom, w * zoom
    out = np.full((rows * (cell_h + gap) - gap, columns * (cell_w + gap) - gap, 3), 255, np.uint8)
    for i, picture in enumerate(pictures):
        tile = colorize(picture, symmetric_limit(picture))
        tile = np.repeat(np.repeat(tile, zoom, axis=0), zoom, axis=1)
        r, c = divmod(i, columns)
        out[r * (cell_h + gap):r * (cell_h + gap) + cell_h, c * (cell_w + gap):c * (cell_w + gap) + cell_w] = tile
    return out


def chosen_columns(timeline, count=10):
    """Up to `count` snapshot numbers spread over the recording (first and last included)."""
    total = len(timeline)
    if total <= count:
        return list(range(total))
    return sorted(set(np.linspace(0, total - 1, count).round().astype(int).tolist()))


@drawn_in_house_style
def filmstrip_figure(timeline, neurons=8, columns=10, width=12.0):
    """Figure: `neurons` of the recorded first-layer neurons (rows) at up to `columns` steps."""
    _require(timeline)
    weights = timeline.weights
    picks = chosen_columns(timeline, columns)
    rows = np.linspace(0, weights.shape[1] - 1, min(neurons, weights.shape[1])).round().astype(int)
    fig = new_figure(width, 1.25 * len(rows) + 0.9)
    axes = fig.subplots(len(rows), len(picks), squeeze=False)
    for r, slot in enumerate(rows):
        for c, k in enumerate(picks):
            ax = axes[r, c]
            picture = weights[k, slot]
            ax.imshow(colorize(picture, symmetric_limit(picture)))
            image_axes(ax)
            if r == 0:
                ax.set_title(f"step {timeline.steps[k]:,}", fontsize=9)
            if c == 0:
                ax.set_ylabel(f"neuron {timeline.neurons[slot]}", fontsize=8.5)
    fig.suptitle("From noise to strokes: the same first-layer neurons' weights at each recorded step "
                 "(blue: ink here raises the neuron's sum, red: lowers it; each on its own scale)",
                 x=0.01, ha="left", fontsize=10, color=TEXT)
    return fig


@drawn_in_house_style
def probes_figure(timeline, class_names=None, width=12.0):
    """Figure: each probe image (left) and its right digit's probability at every recorded step."""
    _require(timeline, probes=True)
    probs = timeline.probabilities                  # (snapshots, probes, classes)
    labels = timeline.probe_labels
    names = class_names or [str(k) for k in range(probs.shape[-1])]
    steps = np.asarray(timeline.steps, np.float64)
    x = steps + 1.0                                 # step 0 on a log axis
    fig = new_figure(width, 4.4)
    count = len(labels)
    hard = _hard_count(timeline)
    grid = fig.add_gridspec(2, count, height_ratios=[1, 4.5])
    for i, image in enumerate(timeline.probe_images):
        ax = fig.add_subplot(grid[0, i])
        ax.imshow(ink(image))
        image_axes(ax)
        ax.set_title(f"{names[labels[i]]}", fontsize=8, color=TEXT if i >= count - hard else NEUTRAL,
                     fontweight="bold" if i >= count - hard else "normal")
    ax = fig.add_subplot(grid[1, :])
    for i, label in enumerate(labels):
        is_hard = i >= len(labels) - hard
        ax.plot(x, probs[:, i, label], marker="o", ms=2.5, lw=1.6 if is_hard else 1.0,
                color=TEXT if is_hard else NEUTRAL, alpha=0.9 if is_hard else 0.6,
                ls="--" if is_hard else "-")
    ax.set_xscale("log")
    ax.set_xticks(x, [f"{int(s):,}" for s in steps], fontsize=7.5, rotation=45)
    ax.minorticks_off()
    ax.set_ylim(0, 1.0)
    ax.set_xlabel("training step")
    ax.set_ylabel("p(right digit)")
    ax.set_title("Watch the probes get recognised: one test image of each digit (grey) and the "
                 f"{hard} least typical ones (dark, dashed)", loc="left", fontsize=10)
    return fig


def frame(timeline, k, neurons=16, class_names=None):
    """Snapshot k as one RGB uint8 picture: 16 neurons, the 10 templates, the probes' bars, words."""
    from PIL import Image, ImageDraw

    _require(timeline)
    weights, templates = timeline.weights[k], timeline.templates[k]
    slots = np.linspace(0, len(weights) - 1, min(neurons, len(weights))).round().astype(int)
    left = tiles(weights[slots], columns=4, zoom=3)
    right = tiles(templates, columns=5, zoom=3)
    probes = _probe_bars(timeline, k, width=right.shape[1])
    pad, head = 14, 46
    width = pad * 3 + left.shape[1] + right.shape[1]
    height = head + pad + max(left.shape[0], right.shape[0] + pad + probes.shape[0] + 20) + pad
    canvas = Image.new("RGB", (width, height), "white")
    canvas.paste(Image.fromarray(left), (pad, head + pad))
    x_right = pad * 2 + left.shape[1]
    canvas.paste(Image.fromarray(right), (x_right, head + pad))
    canvas.paste(Image.fromarray(probes), (x_right, head + pad + right.shape[0] + pad + 20))
    draw = ImageDraw.Draw(canvas)
    font, small = _font(15), _font(12)
    loss, accuracy = timeline.loss[k], timeline.accuracy[k]
    status = step_words(timeline, k)
    if loss is not None:
        status += f": loss {loss:.3f}" + (f", accuracy {accuracy:.1%}" if accuracy is not None else "")
    draw.text((pad, 6), status, fill=TEXT, font=font)
    draw.text((pad, 27), "first-layer neurons' weights", fill=NEUTRAL, font=small)
    draw.text((x_right, 27), "each output's template (d score / d pixels)", fill=NEUTRAL, font=small)
    draw.text((x_right, head + pad + right.shape[0] + pad), "probe images: p(right digit), green when read right",
              fill=NEUTRAL, font=small)
    return np.asarray(canvas)


def _probe_bars(timeline, k, width):
    """Per probe image: the image itself, then a bar of its right digit's probability at snapshot k
    (green when the network reads it right)."""
    labels = timeline.probe_labels
    rows = max(len(labels), 1)
    thumb, gap = 14, 3                               # each probe image halved to 14 x 14
    out = np.full((rows * (thumb + gap), width, 3), 255, np.uint8)
    if not labels:
        return out
    probs = timeline.probabilities[k]
    bar_x = thumb + 6
    for i, label in enumerate(labels):
        y = i * (thumb + gap)
        image = timeline.probe_images[i]
        out[y:y + thumb, :thumb] = ink(image[::2, ::2] if image.shape[0] >= 2 * thumb else image[:thumb, :thumb])
        p = float(probs[i, label])
        right = int(np.argmax(probs[i])) == label
        colour = np.array([26, 152, 80] if right else [140, 140, 140], np.uint8)
        out[y + 3:y + thumb - 3, bar_x:] = 235
        out[y + 3:y + thumb - 3, bar_x:bar_x + max(1, int(p * (width - bar_x)))] = colour
    return out


def _font(size):
    """The house font (DejaVu Sans, shipped with matplotlib) at `size` pixels, for Pillow."""
    from matplotlib import font_manager
    from PIL import ImageFont

    return ImageFont.truetype(font_manager.findfont("DejaVu Sans"), size)


def write_film(timeline, path, seconds_per_frame=0.6, class_names=None):
    """Write every snapshot as a frame of an animated GIF (.gif) or APNG (.png/.apng), atomically."""
    import io
    from pathlib import Path

    from PIL import Image

    _require(timeline)
    suffix = Path(path).suffix.lower()
    if suffix not in FILM_SUFFIXES:
        raise DigitlensError(f"{path}: expected a file name ending in {', '.join(FILM_SUFFIXES)}")
    frames = [Image.fromarray(frame(timeline, k, class_names=class_names)) for k in range(len(timeline))]
    size = (max(f.width for f in frames), max(f.height for f in frames))
    frames = [_on_white(f, size) for f in frames]
    durations = [int(seconds_per_frame * 1000)] * (len(frames) - 1) + [2500]   # rest on the last frame
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF" if suffix == ".gif" else "PNG", save_all=True,
                   append_images=frames[1:], duration=durations, loop=0, optimize=suffix == ".gif")
    write_bytes(path, buffer.getvalue(), error=DigitlensError)
    return path


def _on_white(image, size):
    from PIL import Image

    canvas = Image.new("RGB", size, "white")
    canvas.paste(image, (0, 0))
    return canvas


def slider_html(timeline, class_names=None, element_id="timeline"):
    """HTML: every snapshot's frame and a slider to move through them; works offline (inline JS)."""
    _require(timeline)
    sources = [data_uri(frame(timeline, k, class_names=class_names)) for k in range(len(timeline))]
    captions = [step_words(timeline, k) for k in range(len(timeline))]
    images = "".join(f'<img src="{src}" alt="{escape(caption)}" data-k="{k}"{"" if k == len(sources) - 1 else " hidden"}>'
                     for k, (src, caption) in enumerate(zip(sources, captions)))
    last = len(sources) - 1
    return (f'<div class="timeline" id="{element_id}">'
            f'<label>Recorded step: <input type="range" min="0" max="{last}" value="{last}" step="1" '
            f'aria-label="recorded training step"> <output>{escape(captions[-1])}</output></label>'
            f'<div class="frames">{images}</div></div>'
            "<script>(function(){const root=document.getElementById(" + repr(element_id) + ");"
            "const slider=root.querySelector('input');const out=root.querySelector('output');"
            "const frames=[...root.querySelectorAll('img')];"
            "slider.addEventListener('input',()=>{const k=Number(slider.value);"
            "frames.forEach((f,i)=>{f.hidden=i!==k;});out.textContent=frames[k].alt;});})();</script>")


def _hard_count(timeline):
    """How many probes are the 'hard' ones: those after the first of each class."""
    labels = timeline.probe_labels
    seen, firsts = set(), 0
    for label in labels:
        if label in seen:
            break
        seen.add(label)
        firsts += 1
    return len(labels) - firsts


def _require(timeline, probes=False):
    if timeline is None or len(timeline) == 0:
        raise DigitlensError("this model has no training timeline: train it with digitlens train "
                             "(or fit with the digitlens.explain.Timeline callback) to record one")
    if probes and not timeline.probe_labels:
        raise DigitlensError("this timeline has no probe images")
