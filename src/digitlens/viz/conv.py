"""Pictures of a convolutional network's insides, as HTML: filters, feature maps, pooling, fields, BatchNorm.

    filters_html(f)                a convolution's kernels, each a tiny coloured table of its numbers
                                   (one input channel), or a tile per filter and channel (more)
    feature_maps_html(fm, image)   one image's feature maps, the strongest responses boxed
    pooling_html(step)             which value of each window survives and where it was (max), or
                                   each window's mean, with one window worked out in numbers
    receptive_fields_html(fields)  the pixels one unit of each layer reads, boxed on the image
    batch_norm_html(stats)         mean, variance, gamma, beta and the moving averages per channel
    filter_changes_html(row)       what one step of learning did to each filter of a convolution
    layer_stack_html(model)        the network as a row of its layers' outputs: stacks of maps, columns

The numbers come from digitlens.explain.conv; this module only lays them out. Tiles are one PNG
each (tiles.py), enlarged a few times in NumPy so that a box can be drawn around a single value.
Colours are viz.style's: values on the red-white-blue scale centred on zero, pixels as ink, and
purple for what a picture follows (the strongest responses, the surviving values).
"""

from html import escape

import numpy as np

from .output import data_uri
from .style import FOCUS, NEGATIVE, POSITIVE, TEST_SET, colorize, ink, symmetric_limit
from .tiles import gradient_legend, tile_grid

# The CNN sections' own few rules, carried in the section (so the lesson's page is unchanged). Their
# tables may scroll sideways on a phone, so each can take the keyboard's focus (tabindex="0").
CSS = """<style>
.kernels { display: flex; flex-wrap: wrap; gap: 10px 14px; margin: 8px 0; }
.kernels figure { margin: 0; }
.kernels figcaption { font-size: 11px; text-align: center; }
table.kernel { border-collapse: collapse; margin: 0; display: table; font-size: 10px; }
table.kernel td { width: 34px; height: 22px; padding: 0; text-align: center; border: 1px solid #fff; }
table.kernel.change td { width: 50px; }
.kernel-step { display: flex; gap: 4px; padding: 4px; border: 1px solid #e0e0e0; border-radius: 4px; }
table.window td.won { outline: 3px solid #6a3d9a; font-weight: bold; }
.cnn-tiles .tile-grid { grid-template-columns: repeat(auto-fill, var(--tile)) !important; }
.layer-stack { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 10px 6px; margin: 10px 0; }
.layer-card { display: flex; flex-direction: column; align-items: center; font-size: 11px; color: #444; }
.layer-card b { color: #222; font-size: 12px; margin-top: 4px; white-space: nowrap; }
.layer-arrow { align-self: center; color: #8c8c8c; font-size: 16px; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; vertical-align: middle; }
</style>"""

MAX_TILES = 512           # kernel tiles drawn for one convolution

FIELD_COLOURS = (FOCUS, TEST_SET, POSITIVE, NEGATIVE, "#7f7f00", "#8c510a")


def _rgb(hex_colour):
    return np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)], np.uint8)


def enlarge(rgb, k):
    """(h, w, 3) -> (h * k, w * k, 3): each value a k x k block, so a box can go round one."""
    return np.repeat(np.repeat(rgb, k, axis=0), k, axis=1)


def box(rgb, rows, cols, k, colour, width=1):
    """Outline, on a picture enlarged k times, the values rows[0]..rows[1] x cols[0]..cols[1]."""
    top, bottom = rows[0] * k, (rows[1] + 1) * k
    left, right = cols[0] * k, (cols[1] + 1) * k
    c = _rgb(colour)
    rgb[top:top + width, left:right] = c
    rgb[bottom - width:bottom, left:right] = c
    rgb[top:bottom, left:left + width] = c
    rgb[top:bottom, right - width:right] = c
    return rgb


def ring(rgb, row, col, k, colour, shape):
    """A box one value wider than (row, col) on every side, on a picture enlarged k times: it marks
    the value without hiding it. shape: (rows, cols) of the values, to stay inside."""
    rows = (max(row - 1, 0), min(row + 1, shape[0] - 1))
    cols = (max(col - 1, 0), min(col + 1, shape[1] - 1))
    return box(rgb, rows, cols, k, colour, width=2)


def fade(rgb, keep, k, amount=0.75):
    """Blend the values not in `keep` ((h, w) bools) towards white, on a picture enlarged k times."""
    keep = np.repeat(np.repeat(keep, k, axis=0), k, axis=1)
    out = rgb.astype(np.float64)
    out[~keep] = (1 - amount) * out[~keep] + amount * 255
    return out.astype(np.uint8)


def _scale(limit):
    return gradient_legend(colorize(np.linspace(-1.0, 1.0, 17), 1.0), (f"-{limit:.2g}", "0", f"+{limit:.2g}"))


def _luminance(rgb):
    """WCAG's relative luminance of an sRGB colour (0 black .. 1 white): text on a background of
    luminance below 0.179 reads better in white, above it in black."""
    linear = [(v / 255) / 12.92 if v / 255 <= 0.04045 else ((v / 255 + 0.055) / 1.055) ** 2.4 for v in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def kernel_table(values, limit, cls="kernel", won=None, number="{:+.2f}"):
    """A small grid of numbers, each on its colour (the red-white-blue scale of +-limit), written
    with the format `number`."""
    colours = colorize(values, limit)
    rows = []
    for r in range(values.shape[0]):
        cells = []
        for c in range(values.shape[1]):
            red, green, blue = (int(v) for v in colours[r, c])
            text = "#fff" if _luminance(colours[r, c]) < 0.179 else "#000"     # whichever contrasts more
            mark = ' class="won"' if won == (r, c) else ""
            cells.append(f'<td{mark} style="background: rgb({red},{green},{blue}); color: {text}">'
                         f"{number.format(values[r, c])}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="{cls}">' + "".join(rows) + "</table>"


def filters_html(f):
    """The kernels of one convolution (explain.conv.filters)."""
    kernel, bias, limit = f["kernel"], f["bias"], f["limit"] or 1.0       # (F, KH, KW, C)
    count, kh, kw, channels = kernel.shape
    text = (f"{escape(f['name'])}: {count} filters of {kh} x {kw} x {channels} weights. Each is laid on every "
            f"position of its input in turn; its output there is the sum of window x kernel, plus its bias, then "
            f"{escape(f['activation'] or 'linear')}. Blue weights reward ink (or a strong input) under them, red "
            "ones punish it: a filter with a blue row above a red row finds tops of strokes.")
    if channels == 1 and count <= 64:
        cells = [f"<figure>{kernel_table(kernel[k, :, :, 0], limit)}<figcaption>filter {k}, bias {bias[k]:+.2f}"
                 "</figcaption></figure>" for k in range(count)]
        return f'<p class="caption">{text}</p><div class="kernels">' + "".join(cells) + "</div>" + _scale(limit)
    shown = max(1, min(count, MAX_TILES // channels))         # a page holds a few hundred tiles, not thousands
    tiles = enlarge_all(colorize(np.moveaxis(kernel[:shown], -1, 1).reshape(-1, kh, kw), limit), 6)   # filter-major
    captions = [f"{k}:{c}" for k in range(shown) for c in range(channels)]
    text += (f" One tile per filter and input channel (caption filter:channel), {count * channels:,} in all, "
             "on one colour scale" + (f"; shown: the first {shown} filters' {shown * channels:,}." if shown < count
                                      else "."))
    grid = tile_grid(tiles, captions, columns=channels * max(1, 16 // channels), size=36,
                     label=f"the kernels of {f['name']}")
    return f'<p class="caption">{text}</p>' + wrapping(grid, 36) + _scale(limit)


def wrapping(grid, size):
    """A tile grid whose rows wrap to the width there is (a phone's 390 px as a desktop's 1280), as
    many tiles of `size` CSS pixels to a row as fit; each tile keeps its own piece of the sprite."""
    return f'<div class="cnn-tiles" style="--tile: {size}px">{grid}</div>'


def enlarge_all(tiles, k):
    return np.repeat(np.repeat(tiles, k, axis=1), k, axis=2)


def feature_maps_html(fm, strongest=3, first=False):
    """One image's feature maps of one convolution (explain.conv.feature_maps), each on its own
    scale, its `strongest` responses boxed in purple; with the image it reads (first=True: the pixels)."""
    maps = fm["maps"]
    k = max(1, 104 // maps.shape[1])                         # enlarged to about 104 pixels wide
    tiles, captions = [], []
    for j, values in enumerate(maps):
        rgb = enlarge(colorize(values, symmetric_limit(values)), k)
        for b in fm["strongest"][j][:strongest]:
            if b["value"] <= 0:
                continue                                      # a silent map has no strongest response
            if min(values.shape) >= 12:
                ring(rgb, b["row"], b["col"], k, FOCUS, values.shape)
            else:                                             # a small map: box the value itself
                box(rgb, (b["row"], b["row"]), (b["col"], b["col"]), k, FOCUS, width=2)
        tiles.append(rgb)
        captions.append(f"{j}: peak {fm['peak'][j]:.2f}")
    best = fm["order"][0]
    top = fm["strongest"][best][0]
    text = (f"{escape(fm['name'])}: what each of its {len(maps)} filters finds in the image - its feature map, "
            f"{maps.shape[1]} x {maps.shape[2]} values, one per position the filter was laid on; each on its own "
            f"scale (blue: the filter matched there), its {strongest} strongest responses ringed in purple. Filter "
            f"{best} responds most: {top['value']:.3f} at ({top['row']}, {top['col']}), where it reads input rows "
            f"{top['rows'][0]}-{top['rows'][1]}, columns {top['cols'][0]}-{top['cols'][1]}.")
    parts = [f'<p class="caption">{text}</p>']
    if first:
        image = fm["input"][0]
        rgb = enlarge(ink(image), 6)
        box(rgb, top["rows"], top["cols"], 6, FOCUS, width=2)
        parts.append(f'<figure style="margin: 0"><img src="{data_uri(rgb)}" alt="the image, with the window of the strongest '
                     f'response boxed" style="width: 168px; image-rendering: pixelated; margin: 4px 0"><figcaption class="caption">'
                     f"the image; boxed: the window that gave filter {best} its peak</figcaption></figure>")
    parts.append(wrapping(tile_grid(np.stack(tiles), captions, columns=8, size=104,
                                    label=f"the feature maps of {fm['name']}"), 104))
    rows = "".join(f"<tr><td>{j}</td><td>{fm['peak'][j]:.3f}</td><td>{fm['active'][j]:.0%}</td><td class=\"text\">"
                   + ", ".join(f"{b['value']:.3f} at ({b['row']}, {b['col']})" for b in fm["strongest"][j])
                   + "</td></tr>" for j in range(len(maps)))
    parts.append("<details><summary>every filter's strongest responses</summary><table tabindex=0><tr><th>filter</th>"
                 "<th>peak</th><th>above 0</th><th class=\"text\">strongest (row, col)</th></tr>"
                 f"{rows}</table></details>")
    return "\n".join(parts)


def pooling_html(step, show=4):
    """A pooling layer on one image (explain.conv.pooling_step): the `show` strongest maps before and
    after, the surviving positions boxed (max pooling), and one window worked out in numbers."""
    before, after = step["input"], step["output"]
    channels, height, width = before.shape
    (ph, pw), (sh, sw) = step["window"], step["strides"]
    whole = after.shape[1:] == (1, 1) and (ph, pw) == (height, width)
    name = escape(step["name"])
    if whole:                                                 # a global pooling: one number per map
        rows = "".join(f"<tr><td>{c}</td><td>{after[c, 0, 0]:.4f}</td><td>{before[c].max():.4f}</td></tr>"
                       for c in range(channels))
        return (f'<p class="caption">{name} averages each whole {height} x {width} map to one number: where '
                "in the image a filter matched no longer matters, only how much.</p>"
                f'<table tabindex="0"><tr><th>map</th><th>mean (kept)</th>'
                f"<th>its largest value</th></tr>{rows}</table>")
    order = step["order"][:show]
    k = max(1, 104 // width)
    tiles, captions = [], []
    for c in order:
        limit = symmetric_limit(before[c])
        rgb = enlarge(colorize(before[c], limit), k)
        if step["winner_rows"] is not None:                   # the values that did not survive, faded
            survived = np.zeros((height, width), bool)
            survived[step["winner_rows"][c], step["winner_cols"][c]] = True
            rgb = fade(rgb, survived, k)
        small = enlarge(colorize(after[c], limit), k * sh)
        padded = np.full_like(rgb, 255)
        padded[:small.shape[0], :small.shape[1]] = small[:rgb.shape[0], :rgb.shape[1]]
        gap = np.full((rgb.shape[0], k * 2, 3), 255, np.uint8)
        tiles.append(np.concatenate([rgb, gap, padded], axis=1))        # before | after, one tile
        captions.append(f"map {c}: {height} x {width} \u2192 {after.shape[1]} x {after.shape[2]}")
    kept = "the largest value" if step["pooling"] == "max" else "the mean"
    text = (f"{name} cuts each map into {ph} x {pw} windows (moving {sh} x {sw}) and keeps {kept} of each: "
            f"{height} x {width} -> {after.shape[1]} x {after.shape[2]}, {step['kept']:.0%} of the values. Shown: "
            f"the {len(order)} maps with the strongest values, before and after, on one scale per map"
            + (": in the map before, every value that did not survive is faded, so the ones left at full colour "
               "are the ones kept, where they were." if step["winner_rows"] is not None else "."))
    parts = [f'<p class="caption">{text}</p>',
             wrapping(tile_grid(np.stack(tiles), captions, columns=2, size=232,
                                label=f"{step['name']}: before and after"), 232)]
    ex = step["example"]                                      # one window, in numbers: the strongest value's
    if ex["winner"] is not None:
        said = f"keeps {ex['value']:.4f}, the value at ({ex['winner'][0]}, {ex['winner'][1]}) of the map; the others are dropped"
        won = (ex["winner"][0] - ex["rows"][0], ex["winner"][1] - ex["cols"][0])
    else:
        said, won = f"keeps their mean, {ex['value']:.4f}", None
    parts.append(f'<p class="caption">One window worked out: output ({ex["row"]}, {ex["col"]}) of map {ex["channel"]} '
                 f"reads rows {ex['rows'][0]}-{ex['rows'][1]}, columns {ex['cols'][0]}-{ex['cols'][1]} of {name}'s "
                 f"input, and {escape(said)}.</p>"
                 + kernel_table(ex["values"], symmetric_limit(ex["values"]), cls="kernel window", won=won))
    return "\n".join(parts)


def receptive_fields_html(fields, image):
    """The pixels one unit of each layer reads (explain.conv.receptive_field results), boxed on the
    image in one colour per layer, with a table of their sizes."""
    k = 6
    rgb = enlarge(ink(image), k)
    rows = []
    for i, field in enumerate(fields):
        colour = FIELD_COLOURS[i % len(FIELD_COLOURS)]
        box(rgb, field["rows"], field["cols"], k, colour, width=2)
        h, w = field["size"]
        rows.append(f'<tr><td class="text"><span class="swatch" style="background: {colour}"></span> '
                    f"{escape(field['name'])}</td><td>({field['row']}, {field['col']})</td>"
                    f"<td>{field['rows'][0]}-{field['rows'][1]}</td><td>{field['cols'][0]}-{field['cols'][1]}</td>"
                    f"<td>{h} x {w} = {h * w:,}</td></tr>")
    text = ("A Dense unit reads every pixel; a unit of a convolution or a pooling reads only a window of the layer "
            "below, and each window of that layer reads a window of the one below it. Traced back to the pixels, "
            "the windows grow: the deeper the layer, the more of the image one of its units can see. Boxed: the "
            "pixels the unit in the middle of each layer's output reads.")
    return (f'<p class="caption">{text}</p><img src="{data_uri(rgb)}" alt="the image with the receptive field '
            f'of one unit per layer boxed" style="width: 336px; image-rendering: pixelated">'
            '<table tabindex="0"><tr><th class="text">layer</th><th>unit (row, col)</th>'
            "<th>pixel rows</th><th>pixel columns"
            f"</th><th>pixels it reads</th></tr>{''.join(rows)}</table>")


def batch_norm_html(stats):
    """One normalisation layer's numbers for a batch (explain.conv.batch_norm_statistics), per channel."""
    s = stats
    rows = [[c, f"{s['mean'][c]:.4f}", f"{s['variance'][c]:.4f}", f"{s['gamma'][c]:.4f}", f"{s['beta'][c]:.4f}",
             f"{s['output_mean'][c]:+.4f}", f"{s['output_std'][c]:.4f}", f"{s['moving_mean'][c]:.4f}",
             f"{s['moving_variance'][c]:.4f}", f"{s['prediction_scale'][c]:.4f}", f"{s['prediction_shift'][c]:+.4f}"]
            for c in range(s["channels"])]
    head = ["channel", "batch mean", "batch variance", "gamma (scale)", "beta (shift)", "output mean",
            "output std", "moving mean", "moving variance", "prediction: x times", "prediction: plus"]
    cells = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>" for row in rows)
    text = (f"{escape(s['name'])} on a batch of {s['images']:,} images ({s['count']:,} values per channel): while "
            "training, each channel's values have the batch's mean subtracted and are divided by sqrt(variance + "
            f"{s['epsilon']:g}), so they come out with mean 0 and variance 1; then gamma scales them and beta shifts "
            "them (both learnt), so the output's mean is beta and its spread |gamma|. At prediction the layer uses "
            f"its moving averages instead (each training step moves them {1 - s['momentum']:.0%} of the way to the "
            "batch's): y = x times gamma / sqrt(moving variance + epsilon), plus beta - moving mean times that.")
    return (f'<p class="caption">{text}</p><table tabindex="0"><tr>' + "".join(f"<th>{escape(x)}</th>" for x in head)
            + f"</tr>{cells}</table>")


def filter_changes_html(row, show=4):
    """One convolution's filters before and after one training step (a row of explain.backprop_step's
    "filters"): the `show` most changed, as before / change / after tables, and every filter's size of change."""
    before, after = np.moveaxis(row["before"], -1, 0), np.moveaxis(row["after"], -1, 0)    # (F, KH, KW, C)
    delta = np.moveaxis(row["delta"]["kernel"], -1, 0)
    count, kh, kw, channels = before.shape
    order = row["order"][:show]
    text = (f"{escape(row['name'])}: what the step did to its filters. The {len(order)} that changed most, each "
            "as it was, the change (on its own colour scale: blue = the weight grew), and as it is after; the "
            "change's size is the square root of the sum of its squared weight changes.")
    parts = [f'<p class="caption">{text}</p>']
    if channels == 1:
        limit = float(np.abs(before).max()) or 1.0
        cells = []
        for k in order:
            change = delta[k, :, :, 0]
            cells.append(f'<div class="kernel-step"><figure>{kernel_table(before[k, :, :, 0], limit)}<figcaption>'
                         f"filter {k} before</figcaption></figure><figure>"
                         f'{kernel_table(change, symmetric_limit(change), "kernel change", number="{:+.1e}")}'
                         f"<figcaption>change, size {row['change'][k]:.3g}</figcaption></figure>"
                         f"<figure>{kernel_table(after[k, :, :, 0], limit)}<figcaption>after"
                         "</figcaption></figure></div>")
        parts.append('<div class="kernels">' + "".join(cells) + "</div>")
    rows = "".join(f"<tr><td>{k}</td><td>{row['change'][k]:.4g}</td><td>{row['delta']['bias'][k]:+.4g}</td></tr>"
                   for k in row["order"])
    parts.append("<details><summary>every filter's change, largest first</summary><table tabindex=0><tr><th>filter</th>"
                 f"<th>size of its kernel's change</th><th>bias change</th></tr>{rows}</table></details>")
    return "\n".join(parts)


def layer_stack_html(model):
    """The network as a row of its layers, read from their descriptions: each layer's output drawn as
    what it is - a stack of feature maps (H x W, one square per channel, up to 8 drawn) or a column of
    numbers - with its label and shape. Cards wrap to the width there is."""
    cards = ['<div class="layer-card input"><svg width="60" height="60" aria-hidden="true">'
             '<rect x="8" y="8" width="44" height="44" fill="#fff" stroke="#222"/></svg>'
             f"<b>input</b><span>{' x '.join(map(str, model.input_shape))}</span></div>"]
    for layer in model.layers:
        d = layer.describe()
        shape = d.output_shape
        if len(shape) == 3:
            height, width, channels = shape
            side = 14 + 1.6 * max(height, width)                         # 28 -> 59 px, 5 -> 22 px
            drawn = min(channels, 8)
            step = 4
            size = side + step * (drawn - 1) + 4
            fill = "#dbe8f5" if d.connectivity == "local" else "#eeeeee"
            squares = "".join(f'<rect x="{2 + step * (drawn - 1 - i):.0f}" y="{2 + step * i:.0f}" width="{side:.0f}" '
                              f'height="{side:.0f}" fill="{fill}" stroke="#2166ac" stroke-width="1"/>'
                              for i in range(drawn))
            picture = f'<svg width="{size:.0f}" height="{size:.0f}" aria-hidden="true">{squares}</svg>'
        else:
            count = shape[0] if len(shape) == 1 else int(np.prod(shape))
            tall = min(90, 12 + 9 * np.log2(max(count, 1)))
            fill = "#fde0c5" if d.connectivity == "full" else "#eeeeee"
            picture = (f'<svg width="18" height="{tall:.0f}" aria-hidden="true"><rect x="2" y="1" width="14" '
                       f'height="{tall - 2:.0f}" fill="{fill}" stroke="#555"/></svg>')
        count_text = f"{d.count:,} params" if d.count else "no weights"
        cards.append(f'<div class="layer-card">{picture}<b>{escape(d.label)}</b>'
                     f"<span>{escape(' x '.join(map(str, shape)))}</span><span>{count_text}</span></div>")
    arrow = '<span class="layer-arrow" aria-hidden="true">\u2192</span>'
    return (f'<div class="layer-stack" role="list" aria-label="the layers of {escape(model.name)}, in order">'
            + arrow.join(c.replace('class="layer-card', 'role="listitem" class="layer-card', 1) for c in cards) + "</div>")
