"""The report's sections for a convolutional network: shown only for a model with such layers.

    filters          each convolution's kernels, as tiny coloured tables of their numbers
    feature-maps     what each filter finds in the image, its strongest responses ringed
    pooling          which value of each window survives and where it was (or each window's mean)
    receptive-field  the pixels one unit of each layer reads, boxed on the image
    batch-norm       each BatchNormalization's mean, variance, scale and shift for a batch

report.py puts them after "parameters" (sections_for), and adds to its path section what the image
becomes before the first Dense layer (before_dense_html). Which sections a model gets is read from
its layers' descriptions (explain.conv); the numbers are explain.conv's, the pictures viz.conv's.
Each builder takes the Explanation and the images a batch is drawn from, and returns the section;
cnn_section(name, ...) is the one report.py calls, which turns what a model lacks into a note.
"""

from html import escape

from ..errors import DigitlensError
from ..explain import conv as inside
from ..explain.common import image_shape
from . import html as h
from .conv import batch_norm_html, feature_maps_html, filters_html, pooling_html, receptive_fields_html

CNN_TITLES = {"filters": "Filters", "feature-maps": "Feature maps", "pooling": "Pooling",
              "receptive-field": "Receptive fields", "batch-norm": "Batch normalisation"}
CNN_SECTIONS = ("filters", "feature-maps", "pooling", "receptive-field", "batch-norm")


def cnn_sections(model):
    """The CNN_SECTIONS `model` has layers for, read from the layers' descriptions (none for the
    lesson's network)."""
    has = {"filters": bool(inside.local_layers(model)), "feature-maps": bool(inside.local_layers(model)),
           "pooling": bool(inside.pooling_layers(model)), "receptive-field": bool(_spatial_layers(model)),
           "batch-norm": bool(inside.normalization_layers(model))}
    return tuple(name for name in CNN_SECTIONS if has[name])


def _spatial_layers(model):
    """The layers with a window whose output is still laid out as an image (a unit has a place)."""
    return [layer for layer in model.layers
            if layer.describe().window is not None and len(layer.describe().output_shape) == 3]


def before_dense_html(t):
    """What the image becomes in each layer before the first Dense one (the model's own outputs)."""
    rows = [(r["name"], r["type"], " x ".join(map(str, r["output_shape"])), f"{r['count']:,}", f"{r['smallest']:.3f}",
             f"{r['largest']:.3f}", f"{r['above_zero']:.0%}") for r in inside.before_dense(t)]
    return (h.para("Before its first Dense layer the image becomes, layer by layer (the filters, feature maps and "
                   "pooling sections show these numbers as pictures):")
            + h.table(["layer", "type", "output shape", "numbers", "smallest", "largest", "above 0"], rows,
                      text_columns=(0, 1, 2)).replace("<table>", '<table tabindex="0">', 1))   # it may scroll


def _filters(e, x=None):
    parts = [h.para("A convolution's filter is a small kernel of weights - 3 x 3 pixels, say - slid across the "
                    "image: at each position it multiplies the window under it by its weights and adds them up. The "
                    "same few weights serve every position, which is why a convolution has so few parameters, and "
                    "why a pattern is found wherever it is in the image.")]
    parts += [filters_html(inside.filters(e.model, k)) for k in range(len(inside.local_layers(e.model)))]
    return h.section("filters", "Filters: what each convolution looks for", *parts)


def _feature_maps(e, x=None):
    if e.image is None:
        return h.section("feature-maps", CNN_TITLES["feature-maps"], h.para(
            "Give an image (or a test set and an index) to see what each filter finds in it.", "note"))
    parts = [feature_maps_html(inside.feature_maps(e.model, e.image, k), first=k == 0)
             for k in range(len(inside.local_layers(e.model)))]
    return h.section("feature-maps", "Feature maps: what each filter finds in this image", *parts)


def _pooling(e, x=None):
    if e.image is None:
        return h.section("pooling", CNN_TITLES["pooling"], h.para(
            "Give an image (or a test set and an index) to see its feature maps pooled.", "note"))
    parts = [pooling_html(inside.pooling_step(e.model, e.image, k))
             for k in range(len(inside.pooling_layers(e.model)))]
    return h.section("pooling", "Pooling: which values survive", *parts)


def _receptive_field(e, x=None):
    if e.image is None:
        return h.section("receptive-field", CNN_TITLES["receptive-field"], h.para(
            "Give an image (or a test set and an index) to see the pixels each layer's units read.", "note"))
    fields = [inside.receptive_field(e.model, layer.name, layer.output_shape[0] // 2, layer.output_shape[1] // 2)
              for layer in _spatial_layers(e.model)]
    pixels = inside.layer_outputs(e.model, e.image)[0].reshape(image_shape(e.model))
    return h.section("receptive-field", "Receptive fields: the pixels one unit reads",
                     receptive_fields_html(fields, pixels))


def _batch_norm(e, x=None):
    if x is None:
        return h.section("batch-norm", CNN_TITLES["batch-norm"], h.para(
            "Give a test set (or training images) to see a batch's statistics.", "note"))
    parts = [batch_norm_html(inside.batch_norm_statistics(e.model, x[:256], k))
             for k in range(len(inside.normalization_layers(e.model)))]
    return h.section("batch-norm", "Batch normalisation: one batch's statistics", *parts)


CNN_BUILDERS = {"filters": _filters, "feature-maps": _feature_maps, "pooling": _pooling,
                "receptive-field": _receptive_field, "batch-norm": _batch_norm}


def cnn_section(name, e, x=None):
    """Section `name` of CNN_SECTIONS for the Explanation e (x: images for a batch's statistics), or,
    if this model lacks what it shows, the section with one line saying why."""
    try:
        return CNN_BUILDERS[name](e, x)
    except DigitlensError as error:
        return h.section(name, CNN_TITLES[name], h.para(escape(str(error)), "note"))
