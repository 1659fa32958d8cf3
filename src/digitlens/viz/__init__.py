"""Pictures of the numbers in digitlens.explain: what a learner looks at.

    flatten      the image cut into rows and laid end to end
    parameters   every kernel and bias drawn as the matrix it is
    path         one image's path: weighted sums, activations, the softmax, who pushed the output
    neurons      each neuron's weights as a 28x28 image, each output's template, dead neurons
    conv         inside a CNN, as HTML: filters with their numbers, feature maps, pooling, receptive
                 fields, BatchNorm statistics, what one step changed in each filter
    backprop     one training step: probabilities before and after, every weight's change
    evaluation   confusion matrix, accuracy per class, the most confident mistakes
    curves       training curves
    timeline     a training timeline: the filmstrip, the probes, frames, an animated GIF or PNG
                 (timeline_html: the same as light HTML tiles and an SVG chart, for the report)
    compare      two models side by side, and their comparison as one HTML page
    hidden_space the maps of the test images by their pixels and by a hidden layer
    diagram      the lesson's drawing of the whole network, as SVG or PNG (scene.py draws it)
    report       one self-contained HTML page with all of the above (html.py builds its parts)

Each picture function returns a matplotlib Figure or an RGB array; `save(picture, path)` writes
it as PNG or SVG. Colours are explained in style.py: weights on a red-white-blue scale centred on
zero, pixels as dark ink on white. matplotlib is imported only when a figure is drawn.
"""

from .backprop import backprop_figure, change_mosaic
from .curves import curves_figure
from .diagram import diagram_png, diagram_svg, write_diagram
from .evaluation import confusion_figure, mistakes_figure, per_class_figure
from .flatten import flatten_figure
from .neurons import neuron_figure, templates_figure, weight_grid, weight_mosaic
from .output import data_uri, png_bytes, save
from .parameters import parameters_figure
from .path import contributions_figure, path_figure, softmax_figure
from .report import write_report

__all__ = ["backprop_figure", "change_mosaic", "contributions_figure", "confusion_figure", "curves_figure",
           "data_uri", "diagram_png", "diagram_svg", "flatten_figure", "mistakes_figure", "neuron_figure",
           "parameters_figure", "path_figure", "per_class_figure", "png_bytes", "save", "softmax_figure",
           "templates_figure", "weight_grid", "weight_mosaic", "write_diagram", "write_report"]
