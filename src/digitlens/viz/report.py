"""`write_report`: one self-contained HTML page that explains a model - and one image - in full.

    write_report(model, "report.html", image=digit, label=7, x_test=x_test, y_test=y_test)

Sections (each an element with this id, in this order):
    network     the lesson's drawing of this network (and of the image's path through it)
    flatten     the image cut into rows and laid end to end
    parameters  every layer's kernel and bias, counted and drawn
    path        one image through every layer, the softmax step by step, who pushed the prediction
    neurons     what each hidden neuron looks for, each output's template, dead neurons
    backprop    one real training step on the image: the loss, and how every weight changed
    evaluation  accuracy, confusion matrix, accuracy per class, the most confident mistakes
    training    loss and accuracy curves from the model's history

A section without what it needs (no image, no test set, no history) says what to pass, and one
this model cannot have - the lesson's drawing and per-pixel weights, for a network whose first
layer is a convolution rather than a Dense reading the pixels - says so in a note. The page
has no external references: pictures are inline SVG or base64 PNG, the style sheet is inline.
It is written atomically (a temporary file, then os.replace).
"""

from html import escape
from pathlib import Path

import numpy as np

from .. import explain
from ..errors import DigitlensError
from ..explain.common import dense_layers, image_shape, reads_pixels_first
from . import html as h
from .backprop import backprop_figure
from .curves import curves_figure
from .diagram import diagram_svg
from .evaluation import confusion_figure, mistakes_figure, per_class_figure
from .flatten import flatten_figure
from .neurons import neuron_figure, templates_figure, weight_grid
from .output import write_atomic
from .parameters import parameters_figure
from .path import contributions_figure, path_figure, softmax_figure

SECTIONS = ("network", "flatten", "parameters", "path", "neurons", "backprop", "evaluation", "training")


def write_report(model, path, image=None, label=None, x_test=None, y_test=None, x_train=None, index=None,
                 class_names=None, title=None, image_name=None, data_name=None):
    """Write the HTML report for `model` to `path`; returns the path.

    model: a built Sequential (from digitlens or read from a Keras file).
    image: one (28, 28) digit (uint8 0-255 or floats 0-1), e.g. from datasets.prepare_image; its
        `label` (the right digit) enables the backprop section.
    x_test, y_test: a test set for the evaluation section (and for finding dead neurons).
    x_train: training images; if given, dead neurons and templates are measured on (up to 10,000
        of) them, the data the neurons learnt from, instead of on x_test.
    index: use test image number `index` (and its label) as the image. With neither image nor
        index, test image 0 is used when a test set is given.
    class_names: names of the classes (default: model.class_names if it has them, else "0".."9").
    title, image_name, data_name: words for the page ("my_seven.png", "MNIST test set").
    """
    if image is None and x_test is not None:
        chosen = index is not None
        index = int(index) if chosen else 0
        image = x_test[index]
        if label is None and y_test is not None:
            label = int(y_test[index])
        image_name = image_name or (f"test image #{index}" if chosen else
                                    f"test image #{index}, chosen by default - pass an image or an index")
    class_names = class_names if class_names is not None else getattr(model, "class_names", None)
    names = list(class_names) if class_names is not None else [str(k) for k in range(model.output_shape[-1])]
    e = explain.explain(model, image, label, x_test, y_test, names)
    seen = x_train[:10_000] if x_train is not None else x_test
    title = title or f"digitlens: inside {model.name}"
    sections = [(_network, ()), (_flatten, ()), (_parameters, ()), (_path, ()), (_neurons, (seen,)),
                (_backprop, ()), (_evaluation, (data_name,)), (_training, ())]
    body = [f"<h1>{escape(title)}</h1>", _summary(e, image_name, data_name),
            "<nav>" + "".join(f'<a href="#{s}">{s}</a>' for s in SECTIONS) + "</nav>"]
    body += [_or_note(section_id, build, e, *extra) for section_id, (build, extra) in zip(SECTIONS, sections)]
    document = h.page(title, "\n".join(body))
    path = Path(path)
    write_atomic(path, document.encode("utf-8"))
    return path


# ---- sections -----------------------------------------------------------------------------------

TITLES = dict(zip(SECTIONS, ("The network", "Flatten", "Parameters", "One image's path", "What each neuron looks for",
                             "One step of learning", "How it does on the test set", "Training curves")))


def _or_note(section_id, build, e, *extra):
    """The section, or, if this model lacks what it shows, the section with one line saying why."""
    try:
        return build(e, *extra)
    except DigitlensError as error:
        return h.section(section_id, TITLES[section_id], h.para(escape(str(error)), "note"))


def _first_layers(model, only_rearranging=False):
    """What the layers before the first Dense do, one sentence each (from their descriptions);
    only those that just lay the values out anew (Flatten, Reshape), if asked."""
    first_index = dense_layers(model)[0][0]
    return " ".join(f"{escape(layer.name)} ({escape(layer.kind)}) {escape(layer.describe().what)}."
                    for layer in model.layers[:first_index]
                    if layer.rearranges or not only_rearranging)

def _summary(e, image_name, data_name):
    p = e.parameters
    layers = " -> ".join(r["label"] for r in p["layers"])
    text = f"{escape(layers)}: {p['total']:,} parameters ({p['size']})."
    if e.trace is not None:
        t = e.trace
        text += (f" The image ({escape(image_name or 'given')}) is read as "
                 f'<span class="big">{escape(t["class_names"][t["prediction"]])}</span> '
                 f"({t['probabilities'][t['prediction']]:.1%})")
        if e.label is not None:
            right = e.label == t["prediction"]
            text += (f', <span class="{"right" if right else "wrong"}">'
                     f'{"right" if right else "wrong"}</span>: it is {escape(t["class_names"][e.label])}')
        text += "."
    if e.evaluation is not None:
        text += f" Test accuracy: {e.evaluation['accuracy']:.2%} on {e.evaluation['count']:,} images."
    return h.para(text)


def _network(e):
    if not reads_pixels_first(e.model):
        return h.section("network", "The network", h.para(
            "The lesson's drawing shows every pixel wired to every neuron of a first Dense layer; this network "
            f"reads the image another way first: {_first_layers(e.model)} Its layers, shapes and counts are in "
            "the parameters section; pictures of its filters and feature maps come in a later digitlens.", "note"))
    return h.section("network", "The network", h.para(
        "The lesson's drawing of this network. Every pixel of the image feeds every neuron of the first "
        "layer, and every one of those neurons feeds every output. There are far too many connections to "
        "draw, so the caption says which ones are shown."),
        h.inline_svg(diagram_svg(e.model, e.image)))


def _flatten(e):
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
        h.img(flatten_figure(e.image), "the image cut into its rows, laid end to end"),
        h.table(["input", "pixel (row, col)", "check"], rows, text_columns=()))


def _parameters(e):
    p = e.parameters
    parts = [h.para("Every number the network learnt sits in a layer's kernel (one weight per connection, "
                    "a matrix of inputs x units) or its bias (one per unit). Flatten and Dropout have none."),
             h.parameter_rows(p),
             h.para(f"In all {p['total']:,} parameters, {p['bytes']:,} bytes ({p['size']}) as 4-byte floats."
                    + (f" Training with {p['optimizer']['name']} keeps {p['optimizer']['params']:,} more "
                       f"numbers ({p['optimizer']['size']}) of optimizer state." if p["optimizer"] else "")),
             h.img(parameters_figure(e.model), "every kernel and bias drawn as a matrix")]
    return h.section("parameters", "Parameters: where every number lives", *parts)


def _path(e):
    if e.trace is None:
        return h.section("path", "One image's path", h.para(
            "Give an image (or a test set and an index) to follow one digit through the network.", "note"))
    t, model = e.trace, e.model
    names = t["class_names"]
    parts = [h.para("The image goes through the layers in order. Each Dense layer computes, for each of its "
                    "neurons, a weighted sum z = x @ kernel + bias, then its activation: relu keeps positive "
                    "sums and silences the rest; the softmax turns the last layer's sums into "
                    "probabilities."),
             h.img(path_figure(model, t, label=e.label, class_names=names), "the image's path")]
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
        parts.append(h.img(softmax_figure(t), "the softmax step by step"))
        rows = [(names[k], f"{s['z'][k]:.4f}", f"{s['z_minus_max'][k]:.4f}", f"{s['exp'][k]:.6g}",
                 f"{s['probs'][k]:.6f}") for k in range(len(s["z"]))]
        rows.append(("sum", "", "", f"{s['sum']:.6g}", f"{sum(s['probs']):.6f}"))
        headers = ["output", "z", f"z - max (max = {s['max']:.4f})", "exp(z - max)", "probability"]
        parts.append(h.table(headers, rows))
    parts.append("<h3>Who pushed the prediction</h3>")
    parts.append(h.img(contributions_figure(model, e.image, t["prediction"], class_names=names),
                       "the hidden neurons that pushed the prediction up and down"))
    top = e.contributions["top_up"]
    if top and len(dense_layers(model)) == 2 and reads_pixels_first(model):
        neuron = top[0]["neuron"]
        parts.append(h.para(f"The neuron that pushed {escape(names[t['prediction']])} up most, neuron {neuron}, "
                            "in full: its weights, which pixels drove it, and its votes for every output."))
        parts.append(h.img(neuron_figure(model, e.image, neuron, class_names=names), f"neuron {neuron}"))
    return h.section("path", "One image's path through the network", *parts)


def _neurons(e, x):
    model = e.model
    parts = [h.para("A first-layer neuron has one weight per pixel, so its weights can be drawn as an image: "
                    "blue where ink makes it fire more, red where ink holds it back. Training starts from "
                    "random weights; the patterns are what it learnt.")]
    try:
        parts.append(h.img(weight_grid(model, x), "every hidden neuron's weights"))
        parts.append(h.img(templates_figure(model, x[:2000] if x is not None else None, e.class_names),
                           "each output's effective template"))
    except DigitlensError as error:
        parts.append(h.para(escape(str(error)), "note"))
    parts.append(h.para(
        "An output's effective template is d(its score) / d(pixels): for one image, with the hidden neurons "
        "that are active, score = pixels . template + constant exactly. Averaged over images, each hidden "
        "neuron counts as often as it is active.", "note"))
    if x is not None:
        activity = explain.neuron_activity(model, x)
        dead = np.flatnonzero(activity["dead"])
        rarely = int(np.sum(activity["fraction_active"] < 0.01))
        parts.append(h.para(f"Dead neurons (never active on the {len(x):,} images): {len(dead)}"
                            + (f" - numbers {', '.join(map(str, dead[:40]))}" if len(dead) else "")
                            + f". Active on fewer than 1% of them: {rarely}."))
    return h.section("neurons", "What each neuron looks for", *parts)


def _backprop(e):
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
               "and its pull would be averaged with the others'." + _already_right(p0, names[label]), "note"),
        h.img(backprop_figure(step, e.image, names), "one backpropagation step")]
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
    return h.section("backprop", "One step of learning (backpropagation)", *parts)


def _evaluation(e, data_name):
    if e.evaluation is None:
        return h.section("evaluation", "How it does on the test set", h.para(
            "Give a test set (x_test, y_test) to measure accuracy and see the mistakes.", "note"))
    ev = e.evaluation
    names = ev["class_names"]
    parts = [h.para(f"On {ev['count']:,} images{' of ' + escape(data_name) if data_name else ''}: accuracy "
                    f"<b>{ev['accuracy']:.2%}</b>, loss {ev['loss']:.4f}."),
             h.img(confusion_figure(ev), "confusion matrix"),
             h.img(per_class_figure(ev), "accuracy per class"),
             h.table(["class", "test images", "accuracy"],
                     [(names[k], f"{n:,}", f"{a:.2%}" if a is not None else "-") for k, (n, a) in
                      enumerate(zip(ev["per_class_count"], ev["per_class_accuracy"]))], text_columns=(0,)),
             h.para("Most common mistakes: " + ", ".join(
                 f"{escape(names[c['label']])} read as {escape(names[c['predicted']])} ({c['count']})"
                 for c in ev["top_confusions"][:6]) + "."),
             h.img(mistakes_figure(ev, e.x, count=16), "the most confident mistakes")]
    return h.section("evaluation", "How it does on the test set", *parts)


def _training(e):
    if e.curves is None or not e.curves["epoch"]["x"]:
        return h.section("training", "Training curves", h.para(
            "This model has no training history (it was loaded from a file, or not trained here).", "note"))
    c = e.curves
    keys = [k for k in ("loss", "accuracy", "val_loss", "val_accuracy", "seconds") if k in c["epoch"]]
    rows = [[epoch] + [f"{c['epoch'][k][i]:.4f}" if c["epoch"][k][i] is not None else "-" for k in keys]
            for i, epoch in enumerate(c["epoch"]["epoch"])]
    return h.section("training", "Training curves", h.img(curves_figure(c), "loss and accuracy curves"),
                     h.table(["epoch"] + keys, rows, text_columns=()))


def _already_right(p, name):
    """Why a step on an image the network already reads well changes almost nothing."""
    if p < 0.99:
        return ""
    return (f" The network already gives {escape(name)} {p:.2%}, so the loss - and with it every "
            "gradient - is tiny: there is almost nothing left to learn from this image. Pick one of "
            "the mistakes below (or an image and a different label) to watch a bigger step.")
