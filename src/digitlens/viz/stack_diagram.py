"""The drawing of a network that does not flatten the image first (a CNN), as a Scene.

    stack_scene(model)              # its layers in order, each drawn as what it hands on
    stack_scene(model, image)       # ... with that image's own feature maps and probabilities

The lesson's drawing (diagram.py) wires every pixel to every neuron of a first Dense layer; a
convolutional network keeps the image's rows and columns through its first layers, so each layer
is drawn as its output: feature maps (height x width, the first MAPS channels drawn side by side;
with an image, that image's own maps, darker where a value is further from 0), then a
column of numbers from Flatten on, and the outputs with their probabilities. Under each layer its
name, its output's shape and its parameter count, all read from the layer's description.
"""

import numpy as np

from .scene import Scene, hex_colour
from .style import HIGHLIGHT, NEUTRAL, TEXT, ink

WIDTH, HEIGHT = 1280, 560
MAPS = 4                      # feature maps drawn per layer
MIDDLE = 250                  # y of the drawing's centre line


def stack_scene(model, image=None):
    """The Scene: the input, then every layer of `model`, left to right."""
    outputs = None
    if image is not None:
        outputs = [a[0] for _, a in model.activations(np.asarray(image)[None])]   # input first
    stages = [("input", "the image", tuple(model.input_shape), 0)]
    for layer in model.layers:
        d = layer.describe()
        stages.append((d.name, d.label, tuple(d.output_shape), d.count))
    scene = Scene(WIDTH, HEIGHT)
    step = (WIDTH - 80) / len(stages)
    for i, (name, label, shape, count) in enumerate(stages):
        centre = 40 + step * (i + 0.5)
        values = outputs[i] if outputs is not None else None
        if len(shape) >= 2:
            _maps(scene, centre, shape, values, step)
        elif i == len(stages) - 1:
            _outputs(scene, centre, shape[0], values)
        else:
            _column(scene, centre, shape[0])
        scene.text(centre, 470, name, 12.5 if len(name) <= 18 else 10.5, anchor="middle", weight="bold")
        scene.text(centre, 488, label, 11, anchor="middle", fill=NEUTRAL)
        scene.text(centre, 506, " x ".join(map(str, shape)), 11, anchor="middle")
        scene.text(centre, 524, f"{count:,} parameters" if count else "no weights", 11, anchor="middle",
                   fill=TEXT if count else NEUTRAL)
        if i:
            scene.line(centre - step + step * 0.36, MIDDLE, centre - step * 0.36, MIDDLE, stroke=NEUTRAL,
                       stroke_width=1.5, dash="4,4")
    total = sum(count for *_, count in stages)
    scene.text(40, 34, f"{model.name}: {len(model.layers)} layers, {total:,} parameters. Each layer is drawn as "
               "what it hands on: feature maps keep the image's rows and columns,", 13)
    scene.text(40, 54, f"the first {MAPS} of each layer's drawn"
               + (" (darker where a value is further from 0, for this image)" if image is not None else "")
               + "; from Flatten on, a column of numbers.", 13)
    return scene


def _maps(scene, centre, shape, values, step):
    """Up to MAPS feature maps (height, width[, channels]) in a 2 x 2 grid, each pixel a square."""
    height, width = shape[:2]
    channels = shape[2] if len(shape) > 2 else 1
    drawn = min(channels, MAPS)
    across = 1 if drawn == 1 else 2
    down = -(-drawn // across)
    gap = 6.0
    side = min(step * 0.7, 150.0)
    tile = (side - gap * (across - 1)) / across if across > 1 else side
    cell = tile / max(height, width)
    top = MIDDLE - (down * tile + gap * (down - 1)) / 2
    for k in range(drawn):
        x0 = centre - side / 2 + (k % across) * (tile + gap)
        y0 = top + (k // across) * (tile + gap)
        scene.rect(x0, y0, cell * width, cell * height, fill="#ffffff")
        if values is not None:
            plane = values[..., k] if values.ndim == 3 else values
            largest = float(np.abs(plane).max()) or 1.0
            colours = ink(np.abs(plane) / largest)
            for (r, c), level in np.ndenumerate(plane):
                if level != 0:
                    scene.rect(x0 + c * cell, y0 + r * cell, cell, cell, fill=hex_colour(colours[r, c]))
        scene.rect(x0, y0, cell * width, cell * height, stroke="#2166ac", stroke_width=1.0)   # the frame on top
    if channels > 1:
        scene.text(centre, top + down * tile + gap * (down - 1) + 18,
                   f"{drawn} of {channels} maps drawn" if channels > drawn else f"all {channels} maps", 10,
                   anchor="middle", fill=NEUTRAL)


def _column(scene, centre, count):
    """A vector of `count` numbers: a bar whose height grows with the logarithm of the count."""
    tall = min(320.0, 40.0 + 28.0 * np.log2(max(count, 1)))
    scene.rect(centre - 9, MIDDLE - tall / 2, 18, tall, fill="#fde0c5", stroke="#555555")


def _outputs(scene, centre, classes, probs):
    """The output layer: one circle per class, with its probability when there is an image."""
    gap = min(36.0, 360.0 / max(classes, 1))
    best = int(np.argmax(probs)) if probs is not None else None
    for k in range(classes):
        y = MIDDLE + gap * (k - (classes - 1) / 2)
        chosen = k == best
        scene.circle(centre - 12, y, gap * 0.4, fill="#f5c690" if chosen else "#ffffff",
                     stroke=HIGHLIGHT if chosen else "#555555", stroke_width=2.0 if chosen else 1.0)
        scene.text(centre - 12, y + 4, str(k), 11, anchor="middle", weight="bold" if chosen else "normal")
        if probs is not None:
            scene.text(centre + 6, y + 4, f"{probs[k]:.1%}", 10.5, weight="bold" if chosen else "normal")
