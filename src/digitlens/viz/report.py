"""`write_report`: one self-contained HTML page that explains a model - and one image - in full.

    write_report(model, "report.html", image=digit, label=7, x_test=x_test, y_test=y_test)

Sections (each an element with this id, in this order):
    network     the lesson's drawing of this network (and of the image's path through it)
    flatten     the image cut into rows and laid end to end
    parameters  every layer's kernel and bias, counted and drawn
  and, only for a model with such layers (CNN_SECTIONS, built in report_conv.py):
    filters          each convolution's kernels, as tiny coloured tables of their numbers
    feature-maps     what each filter finds in the image, its strongest responses boxed
    pooling          which value of each window survives and where it was (or each window's mean)
    receptive-field  the pixels one unit of each layer reads, boxed on the image
    batch-norm       each BatchNormalization's mean, variance, scale and shift for a batch
    path        one image through every layer, the softmax step by step, who pushed the prediction
    neurons     what each hidden neuron looks for, each output's template, dead neurons
    hidden-space  the test images as points on a map of their pixels and of the last hidden
                layer's activations (PCA): the network pulls the digits apart
    backprop    one real training step on the image: the loss, and how every weight changed
    evaluation  accuracy, confusion matrix, accuracy per class, the most confident mistakes, and
                the images behind the most common confusions (the matrix's counts link to them)
    training    loss and accuracy curves from the model's history
    timeline    how it learned, when the model carries a training timeline: a filmstrip of
                neurons from noise to strokes, the probe images' probabilities over the steps,
                and a slider through every recorded snapshot

A section without what it needs (no image, no test set, no history, no timeline) says what to
pass, and one this model cannot have - the lesson's drawing and per-pixel weights, for a network
whose first layer is a convolution rather than a Dense reading the pixels - says so in a note.
The page has no external references: pictures are inline SVG or base64 PNG, the style sheet is
inline, the slider's script is inline. It is written atomically (a temporary file, then
os.replace).

Where the time goes (the lesson's network, on a 2-core machine): about a second starting Python
and importing NumPy and matplotlib, a few tenths reading the model and MNIST and computing the
numbers, and the rest drawing about ten matplotlib figures - so those are drawn side by side
(render.py), and the pictures made of hundreds of small tiles (weights, templates, mistakes) and
the tables (confusion, accuracy per class, softmax) are HTML with one PNG each (grids.py), not
figures.
"""

from html import escape
from pathlib import Path

import numpy as np

from .. import explain
from ..errors import DigitlensError
from ..explain import words
from ..explain.common import dense_layers, image_shape, reads_pixels_first, require_pixels_into_first_dense
from . import html as h
from .backprop import backprop_figure
from .conv import CSS as CNN_CSS, filter_changes_html, layer_stack_html
from .curves import curves_figure
from .diagram import diagram_svg
from .flatten import flatten_figure
from .grids import cell_gallery_html, confusion_html, layer_templates_html, mistakes_html, per_class_html, \
    templates_html, weight_grid_html
from .neurons import neuron_figure
from .output import write_atomic
from .parameters import parameters_figure
from .render import Pictures
from .report_conv import CNN_SECTIONS, before_dense_html, cnn_section, cnn_sections
from .path import contributions_figure, path_figure
from .report_learning import hidden_space_section as _hidden_space, timeline_section as _timeline

SECTIONS = ("network", "flatten", "parameters", "path", "neurons", "hidden-space", "backprop", "evaluation",
            "training", "timeline")
CELL_GALLERIES = 6           # the most common confusions shown as galleries of their images


def sections_for(model):
    """The report's sections for `model`, in order: SECTIONS, with the CNN_SECTIONS it has layers
    for (read from the layers' descriptions, report_conv.py) after "parameters"; the lesson's
    network has none."""
    cut = SECTIONS.index("parameters") + 1
    return SECTIONS[:cut] + cnn_sections(model) + SECTIONS[cut:]


def write_report(model, path, image=None, label=None, x_test=None, y_test=None, x_train=None, index=None,
                 class_names=None, title=None, image_name=None, data_name=None, doubt=None, workers=None):
    """Write the HTML report for `model` to `path`; returns the path.

    model: a built Sequential (from digitlens or read from a Keras file).
    image: one (28, 28) digit (uint8 0-255 or floats 0-1), e.g. from datasets.prepare_image; its
        `label` (the right digit) enables the backprop section.
    x_test, y_test: a test set for the evaluation section (and for finding dead neurons).
    x_train: training images; if given, dead neurons and templates are measured on (up to 10,000
        of) them, the data the neurons learnt from, instead of on x_test.
    index: use test image number `index` (and its label) as the image. With neither image nor
        index, a test image whose backprop step has something to show is picked (a mistake the
        network nearly got right, else the right answer it was least sure of:
        explain.instructive_example), and the report says why.
    class_names: names of the classes (default: model.class_names if it has them, else "0".."9").
    title, image_name, data_name: words for the page ("my_seven.png", "MNIST test set").
    doubt: a sentence saying why the image does not look like one digit (from the preparation's
        steps["doubt"]), shown beside the prediction.
    workers: processes drawing the figures (None: as many as help here, render.py; 1: none).
    """
    class_names = class_names if class_names is not None else getattr(model, "class_names", None)
    names = list(class_names) if class_names is not None else [str(k) for k in range(model.output_shape[-1])]
    picked = None                        # why the report picked its image, when nobody chose one
    probs = model.predict(x_test) if x_test is not None and y_test is not None else None   # once, for both uses
    if image is None and x_test is not None:
        if index is None and y_test is not None:
            index, picked = explain.instructive_example(model, x_test, y_test, names, probs=probs)
        index = int(index) if index is not None else 0
        image = x_test[index]
        if label is None and y_test is not None:
            label = int(y_test[index])
        image_name = image_name or f"test image #{index}"
    e = explain.explain(model, image, label, x_test, y_test, names, probs=probs)
    pics = Pictures(workers)
    seen = x_train[:10_000] if x_train is not None else x_test
    title = title or f"digitlens: inside {model.name}"
    # The sections with figures first: their figures start drawing (in worker processes, where
    # there are cores) while this process makes the rest - the diagram, the tiles, the tables.
    # The maps first: they take the longest (two SVDs, then a figure of 4,000 points). A section
    # this model lacks what it shows for is one line saying why (_or_note).
    drawing = {"hidden-space": (_hidden_space, pics, e), "flatten": (_flatten, pics, e),
               "parameters": (_parameters, pics, e), "path": (_path, pics, e),
               "backprop": (_backprop, pics, e, picked), "training": (_training, pics, e)}
    drawn = {name: _or_note(name, *call) for name, call in drawing.items()}
    pics.start()
    making = {"network": (_network, e), "neurons": (_neurons, e, seen), "evaluation": (_evaluation, e, data_name),
              "timeline": (_timeline, e)}
    made = {name: _or_note(name, *call) for name, call in making.items()}
    made.update({name: cnn_section(name, e, seen) for name in cnn_sections(model)})     # report_conv.py
    sections = sections_for(model)
    body = [f"<h1>{escape(title)}</h1>", _summary(e, image_name, data_name, picked, doubt),
            "<nav>" + "".join(f'<a href="#{s}">{s}</a>' for s in sections) + "</nav>"]
    if len(sections) > len(SECTIONS):
        body.append(CNN_CSS)
    body += [{**drawn, **made}[name] for name in sections]
    document = pics.fill(h.page(title, "\n".join(body)))
    path = Path(path)
    write_atomic(path, document.encode("utf-8"))
    return path


def section_html(e, name, seen=None, data_name=None):
    """Section `name` (one of sections_for(e.model)) of the report for the Explanation `e`, as HTML:
    the same section write_report puts on the page, for showing one at a time (digitlens.notebook,
    which adds the style sheets: viz.html's CSS and, for the CNN sections, viz.conv's).
    seen: the images dead neurons and templates are measured on (neurons); data_name: words for
    the test set (evaluation)."""
    if name in CNN_SECTIONS:              # a convolutional network's (report_conv.py): no figures to draw
        sections = sections_for(e.model)
        if name not in sections:
            raise DigitlensError(f"section: expected one of {', '.join(sections)}, received {name!r}")
        return cnn_section(name, e, seen)
    pics = Pictures(workers=1)            # drawn here, in turn: a notebook's kernel is not forked
    builders = {"network": _network, "flatten": lambda e: _flatten(pics, e),
                "parameters": lambda e: _parameters(pics, e), "path": lambda e: _path(pics, e),
                "neurons": lambda e: _neurons(e, seen), "backprop": lambda e: _backprop(pics, e),
                "evaluation": lambda e: _evaluation(e, data_name), "training": lambda e: _training(pics, e),
                "hidden-space": lambda e: _hidden_space(pics, e), "timeline": _timeline}
    if name not in builders:
        raise DigitlensError(f"section: expected one of {', '.join(SECTIONS)}, received {name!r}")
    return pics.fill(_or_note(name, builders[name], e))


# ---- sections -----------------------------------------------------------------------------------

TITLES = {"network": "The network", "flatten": "Flatten", "parameters": "Parameters", "path": "One image's path",
          "neurons": "What each neuron looks for", "hidden-space": "The hidden space", "backprop": "One step of learning",
          "evaluation": "How it does on the test set", "training": "Training curves", "timeline": "How it learned"}


def _or_note(section_id, build, *args):
    """The section, or, if this model lacks what it shows, the section with one line saying why."""
    try:
        return build(*args)
    except DigitlensError as error:
        return h.section(section_id, TITLES[section_id], h.para(escape(str(error)), "note"))


def _first_layers(model, only_rearranging=False):
    """What the layers before the first Dense do, one sentence each (from their descriptions);
    only those that just lay the values out anew (Flatten, Reshape), if asked."""
    first_index = dense_layers(model)[0][0]
    return " ".join(f"{escape(layer.name)} ({escape(layer.kind)}) {escape(layer.describe().what)}."
                    for layer in model.layers[:first_index]
                    if layer.rearranges or not only_rearranging)


def _summary(e, image_name, data_name, picked=None, doubt=None):
    p = e.parameters
    layers = " -> ".join(r["label"] for r in p["layers"])
    text = f"{escape(layers)}: {p['total']:,} parameters ({p['size']})."
    if e.trace is not None:
        t = e.trace
        text += (f" The image ({escape(image_name or 'given')}) is read as "
                 f'<span class="big">{escape(t["class_names"][t["prediction"]])}</span> '
                 f"({t['probabilities'][t['prediction']]:.1%}: "
                 f"{escape(words.confidence(t['probabilities'], t['class_names']))})")
        if e.label is not None:
            right = e.label == t["prediction"]
            text += (f', <span class="{"right" if right else "wrong"}">'
                     f'{"right" if right else "wrong"}</span>: it is {escape(t["class_names"][e.label])}')
        text += "."
        if doubt:
            text += f' <span class="doubt">{escape(doubt[0].upper() + doubt[1:])}.</span>'
    if e.evaluation is not None:
        text += f" Test accuracy: {e.evaluation['accuracy']:.2%} on {e.evaluation['count']:,} images."
    parts = [h.para(text)]
    if picked:
        parts.append(h.para(f"No image was chosen, so the report picked {escape(image_name)}: {escape(picked)}. "
                            "Pass --index N (or an image file) to follow another one.", "note"))
    return "\n".join(parts)


def _network(e):
    if not reads_pixels_first(e.model):
        return h.section("network", "The network", h.para(
            "The lesson's drawing shows every pixel wired to every neuron of a first Dense layer; this network "
            f"reads the image another way first: {_first_layers(e.model)} Its layers, shapes and counts are in "
            "the parameters section, and what its filters are and find in the sections after it.", "note"),
            *([h.para("Its layers in order, each drawn as what it hands on: a stack of feature maps (one square "
                      "per map, up to 8 drawn; blue for a convolution's) or a column of numbers (orange for a Dense "
                      "layer's units)."), layer_stack_html(e.model)] if cnn_sections(e.model) else []))
    return h.section("network", "The network", h.para(
        "The lesson's drawing of this network. Every pixel of the image feeds every neuron of the first "
        "layer, and every neuron of each layer feeds every unit of the next, up to the outputs. There are far "
        "too many connections to draw, so the caption says which ones are shown."),
        h.inline_svg(diagram_svg(e.model, e.image)))


def _flatten(pics, e):
    if not reads_pixels_first(e.model):
        return h.section("flatten", "Flatten", h.para(
            "This network does not flatten the image itself, so its first layers still know which pixels are "
            "neighbours (see above). Its layers that only lay values out anew: "
            + (_first_layers(e.model, True) or "none"), "note"))
    height, width = image_shape(e.model)
    examples = [0, width - 1, width, width * (height // 2) + width // 2, height * width - 1]
    rows = [(i, f"({r}, {c})", f"{width} x {r} + {c} = {explain.pixel_to_index(r, c, width)}")
            for i in examples for r, c in [explain.index_to_pixel(i, width)]]
    return h.section("flatten", "Flatten: from 28 x 28 to 784", h.para(
        f"The first layer sees no picture, only a list of {height * width} numbers: the image's rows "
        f"laid end to end. Pixel (row, col) becomes input {width} x row + col."),
        pics.img(lambda: flatten_figure(e.image), "the image cut into its rows, laid end to end"),
        h.table(["input", "pixel (row, col)", "check"], rows, text_columns=()))


def _parameters(pics, e):
    p = e.parameters
    parts = [h.para("Every number the network learnt sits in a layer's kernel (one weight per connection, "
                    "a matrix of inputs x units) or its bias (one per unit). Flatten and Dropout have none."),
             h.parameter_rows(p),
             h.para(f"In all {p['total']:,} parameters, {p['bytes']:,} bytes ({p['size']}) as 4-byte floats."
                    + (f" Training with {p['optimizer']['name']} keeps {p['optimizer']['params']:,} more "
                       f"numbers ({p['optimizer']['size']}) of optimizer state." if p["optimizer"] else "")),
             pics.img(lambda: parameters_figure(e.model), "every kernel and bias drawn as a matrix")]
    return h.section("parameters", "Parameters: where every number lives", *parts)


def _path(pics, e):
    if e.trace is None:
        return h.section("path", "One image's path", h.para(
            "Give an image (or a test set and an index) to follow one digit through the network.", "note"))
    t, model = e.trace, e.model
    names = t["class_names"]
    said = {"relu": "relu keeps positive sums and silences the rest",
            "tanh": "tanh squashes every sum into -1..+1 (a negative output pushes the next layer the other way)",
            "sigmoid": "sigmoid squashes every sum into 0..1", "linear": "with no activation the sums go on as they are"}
    seen = dict.fromkeys(row["activation_name"] for row in t["layers"] if row["fully_connected"])
    clauses = [said[name] for name in seen if name in said]
    parts = [h.para("The image goes through the layers in order. Each Dense layer computes, for each of its "
                    "neurons, a weighted sum z = x @ kernel + bias, then its activation: "
                    + "; ".join(clauses + (["the softmax turns the last layer's sums into probabilities"]
                                           if "softmax" in seen else [])) + "."),
             pics.img(lambda: path_figure(model, t, label=e.label, class_names=names), "the image's path")]
    if not reads_pixels_first(model):
        parts.insert(1, before_dense_html(t))
    for row in t["layers"]:
        if not row["fully_connected"]:
            continue
        active = sum(1 for a in row["activation"] if a > 0)
        rows = [(j, f"{z:.4f}", f"{b:.4f}", f"{a:.4f}") for j, (z, b, a) in
                enumerate(zip(row["z"], row["bias"], row["activation"]))]
        parts.append(h.details(f"{row['name']}: all {row['units']} weighted sums, biases and activations "
                               f"({row['activation_name']}; {active} above 0)",
                               h.table(["unit", "z = x @ kernel + bias", "bias", "activation"], rows,
                                       text_columns=())))
    if t["softmax"] is not None:
        s = t["softmax"]
        parts.append("<h3>The softmax, step by step</h3>")
        parts.append(h.para("The scores z become probabilities that add up to 1: subtract the largest score (which "
                            "changes nothing but keeps exp from overflowing), take exp, divide by the sum."))
        parts.append(h.softmax_table(s, names, t["prediction"]))
    parts.append("<h3>Who pushed the prediction</h3>")
    parts.append(pics.img(lambda: contributions_figure(model, e.image, t["prediction"], class_names=names),
                       "the neurons of the last hidden layer that pushed the prediction up and down"))
    if reads_pixels_first(model):
        parts.extend(_chain(pics, e, names))
    return h.section("path", "One image's path through the network", *parts)


def _chain(pics, e, names):
    """Every hidden layer in full, following the push back from the prediction: the neuron of the
    last hidden layer that pushed it up most, the neuron below that drove that one most, and so on
    down to the first layer - each with what drove it, which pixels, and what it pushes above."""
    top = e.contributions["top_up"]
    if not top:
        return []
    hidden = len(dense_layers(e.model)) - 1
    neuron, layer = top[0]["neuron"], hidden - 1
    parts = []
    while True:
        d = explain.neuron_detail(e.model, e.image, neuron, layer)
        above = (f"pushed {escape(names[e.trace['prediction']])} up most" if layer == hidden - 1 else
                 "drove the neuron above most")
        parts.append(h.para(f"The neuron of {escape(d['layer'])} (hidden layer {layer + 1}) that {above}, "
                            f"neuron {neuron}, in full: what drove it, which pixels, and what it pushes above. "
                            + escape(d["state"])))
        parts.append(pics.img(lambda neuron=neuron, layer=layer: neuron_figure(e.model, e.image, neuron, layer,
                                                                              class_names=names),
                           f"{d['layer']} neuron {neuron}"))
        if layer == 0 or not d["incoming"]["top_up"]:
            return parts
        neuron, layer = d["incoming"]["top_up"][0]["neuron"], layer - 1


def _neurons(e, x):
    model = e.model
    require_pixels_into_first_dense(model, "The pictures of what each neuron looks for")
    hidden = [layer for _, layer in dense_layers(model)][:-1]
    parts = [h.para("A first-layer neuron has one weight per pixel, so its weights can be drawn as an image: "
                    "blue where ink makes it fire more, red where ink holds it back. Training starts from "
                    "random weights; the patterns are what it learnt.")]
    sample = x[:2000] if x is not None else None
    activity = [explain.neuron_activity(model, x, k) for k in range(len(hidden))] if x is not None else None
    try:
        parts.append(weight_grid_html(model, x, activity[0] if activity else None))
        for k in range(1, len(hidden)):
            parts.append(h.para(f"A neuron of {escape(hidden[k].name)} (hidden layer {k + 1}) has no weight per pixel: "
                                "it sees the neurons below it. Traced back through them, each pixel gets an "
                                "effective weight, d z / d pixel; averaged over images, these pictures show what "
                                "each of its neurons looks for."))
            parts.append(layer_templates_html(model, sample, k))      # (on the sample: its own activity)
        parts.append(templates_html(model, sample, e.class_names))
    except DigitlensError as error:
        parts.append(h.para(escape(str(error)), "note"))
    parts.append(h.para(
        "An output's effective template is d(its score) / d(pixels): for one image, with the hidden neurons "
        "that are active, score = pixels . template + constant exactly (through relu layers). Averaged over "
        "images, each hidden neuron counts as often as it is active.", "note"))
    if x is not None:
        for k, layer in enumerate(hidden):
            dead = np.flatnonzero(activity[k]["dead"])
            rarely = int(np.sum(activity[k]["fraction_active"] < 0.01))
            where = f" in {escape(layer.name)}" if len(hidden) > 1 else ""
            parts.append(h.para(f"Dead neurons{where} (never active on the {len(x):,} images): {len(dead)}"
                                + (f" - numbers {', '.join(map(str, dead[:40]))}" if len(dead) else "")
                                + f". Active on fewer than 1% of them: {rarely}."))
    return h.section("neurons", "What each neuron looks for", *parts)


def _backprop(pics, e, picked=None):
    if e.backprop is None:
        why = ("Give an image and its label" if e.image is not None else "Give an image and its label "
               "(or a test set and an index)")
        return h.section("backprop", "One step of learning", h.para(
            f"{why} to see one real step of backpropagation.", "note"))
    step, names = e.backprop, e.trace["class_names"]
    label = step["label"]
    p0, p1 = step["probs_before"][label], step["probs_after"][label]
    parts = [h.para(
        f"Training shows the network an image and its label, measures how wrong it was (the loss, "
        f"-log p(right digit)), works out for every weight which way it should move to make the right "
        f"digit more likely (the gradient, by backpropagation), and lets the optimizer move it. Here is one "
        f"such step on this image alone, computed by the model's own training code on a copy of the model: "
        f"p({escape(names[label])}) goes from <b>{p0:.2%}</b> to <b>{p1:.2%}</b>, the loss from "
        f"{step['loss_before']:.4f} to {step['loss_after']:.4f}."),
        h.para(escape(step["note"]) + " In real training this image would be one of a batch of images, "
               "and its pull would be averaged with the others'." + _already_right(p0, names[label])
               + (f" This image was picked because {escape(picked)}." if picked else ""), "note"),
        pics.img(lambda: backprop_figure(step, e.image, names), "one backpropagation step")]
    if not step["optimizer"]["plain_gradient"]:
        plain = explain.backprop_step(e.model, e.image, label, optimizer="sgd")
        parts.append(h.para(
            f"For comparison, a plain gradient step (SGD, learning rate {plain['optimizer']['learning_rate']:g}, "
            f"change = -rate x gradient) takes p({escape(names[label])}) from "
            f"{plain['probs_before'][label]:.2%} to {plain['probs_after'][label]:.2%}.", "note"))
    height, width = image_shape(e.model)
    layer_names = [row["name"] for row in step["layers"]]

    def describe(connection):
        layer, i, j, delta = connection
        position = layer_names.index(layer)
        last = position == len(layer_names) - 1
        if position == 0 and reads_pixels_first(e.model):
            r, c = explain.index_to_pixel(i, width)
            source = f"pixel ({r}, {c}) [input {i}]"
        elif position == 0:
            source = f"input {i}"
        else:
            source = f"{layer_names[position - 1]} neuron {i}"
        target = f"output {names[j]}" if last else f"{layer} neuron {j}"
        row = step["layers"][position]
        return (layer, source, target, f"{row['gradient']['kernel'][i, j]:+.3g}", f"{delta:+.3g}")

    headers = ["layer", "from", "to", "gradient", "change"]
    parts.append("<h3>The connections strengthened most</h3>")
    parts.append(h.table(headers, [describe(c) for c in step["top_strengthened"]], text_columns=(0, 1, 2)))
    parts.append("<h3>The connections weakened most</h3>")
    parts.append(h.table(headers, [describe(c) for c in step["top_weakened"]], text_columns=(0, 1, 2)))
    for row in step["layers"]:
        per_layer = [describe(c) for c in row["top_strengthened"][:5] + row["top_weakened"][:5]]
        parts.append(h.details(f"{row['name']}: its 5 largest increases and decreases", h.table(
            headers, per_layer, text_columns=(0, 1, 2))))
    if step["filters"]:
        parts.append("<h3>What changed in each filter</h3>")
        parts += [filter_changes_html(row) for row in step["filters"]]
    return h.section("backprop", "One step of learning (backpropagation)", *parts)


def _evaluation(e, data_name):
    if e.evaluation is None:
        return h.section("evaluation", "How it does on the test set", h.para(
            "Give a test set (x_test, y_test) to measure accuracy and see the mistakes.", "note"))
    ev = e.evaluation
    names = ev["class_names"]
    top = ev["top_confusions"][:CELL_GALLERIES]
    links = {(c["label"], c["predicted"]): f"cell-{c['label']}-{c['predicted']}" for c in top}
    parts = [h.para(f"On {ev['count']:,} images{' of ' + escape(data_name) if data_name else ''}: accuracy "
                    f"<b>{ev['accuracy']:.2%}</b>, loss {ev['loss']:.4f}."),
             confusion_html(ev, links),
             "<h3>Accuracy per class</h3>",
             per_class_html(ev),
             h.para("Most common mistakes: " + ", ".join(
                 f'<a href="#{links[(c["label"], c["predicted"])]}">{escape(names[c["label"]])} read as '
                 f'{escape(names[c["predicted"]])}</a> ({c["count"]})' for c in top) + "."),
             mistakes_html(ev, e.x, count=16)]
    if top:
        probs = e.probs if e.probs is not None else e.model.predict(e.x)
        y = e.model.prepare_labels(e.y, len(probs), "y")
        parts.append("<h3>The mistakes, cell by cell</h3>")
        parts.append(h.para("The images behind the most common confusions, the ones the model was surest of first "
                            "(caption: the test image's number and the probability the model gave the digit it "
                            "said). A cell's count in the matrix above links here.", "note"))
        parts += [cell_gallery_html(explain.confusion_cell(probs, y, c["label"], c["predicted"], 16), e.x, names,
                                    links[(c["label"], c["predicted"])]) for c in top]
    return h.section("evaluation", "How it does on the test set", *parts)


def _training(pics, e):
    if e.curves is None or not e.curves["epoch"]["x"]:
        return h.section("training", "Training curves", h.para(
            "This model has no training history (it was loaded from a file, or not trained here).", "note"))
    c = e.curves
    keys = [k for k in ("loss", "accuracy", "val_loss", "val_accuracy", "seconds") if k in c["epoch"]]
    rows = [[epoch] + [f"{c['epoch'][k][i]:.4f}" if c["epoch"][k][i] is not None else "-" for k in keys]
            for i, epoch in enumerate(c["epoch"]["epoch"])]
    return h.section("training", "Training curves", pics.img(lambda: curves_figure(c), "loss and accuracy curves"),
                     h.table(["epoch"] + keys, rows, text_columns=()))


def _already_right(p, name):
    """Why a step on an image the network already reads well changes almost nothing."""
    if p < 0.99:
        return ""
    return (f" The network already gives {escape(name)} {p:.2%}, so the loss - and with it every "
            "gradient - is tiny: there is almost nothing left to learn from this image. Pick one of "
            "the mistakes below (or an image and a different label) to watch a bigger step.")
