"""The numbers behind the lesson: what the network does with an image, and how it learns from it.

    flatten      pixel (row, col) <-> input 28 * row + col; the image as its rows laid end to end
    parameters   every layer's kernel and bias counted, with the total and its memory
    path         one image through every layer: weighted sums, activations, the softmax step by
                 step, and which inputs pushed each unit of any layer (pixels or neurons below)
    sensitivity  d z / d pixels of a neuron at any depth: its effective weights for one image
    neurons      each neuron's weights as a 28x28 image, any hidden neuron in full, each output's
                 effective template, neurons that never fire
    words        sentences for people: what a neuron's output means, how sure a prediction is
    conv         inside a CNN: filters, feature maps, pooling windows, receptive fields, BatchNorm
    backprop     one real training step: the gradient and the change of every weight
    evaluation   accuracy, confusion matrix and the images in each cell, the most confident mistakes
    history      training curves per epoch and per batch
    timeline     the Timeline callback: snapshots of the network at steps 0, 1, 2, 5, 10, ... of fit
    compare      two models side by side on a test set, each by its own evaluate
    hidden_space the test images on maps of their pixels and of a hidden layer (PCA), and where a
                 new digit lands on them
    explanation  all of the above for one model and image, displaying itself in Jupyter

Results are plain dicts of lists and numbers (NumPy arrays where a docstring says so); `to_json`
turns any of them into JSON-ready Python. Pictures of these numbers live in digitlens.viz; nothing
here draws, and nothing here changes a model.
"""

from .backprop import backprop_step, make_twin
from .conv import batch_norm_statistics, feature_maps, filters, pooling_step, receptive_field
from .common import to_json
from .evaluation import confusion_cell, evaluate, instructive_example
from .explanation import Explanation, explain
from .flatten import flatten_strip, index_to_pixel, pixel_to_index
from .history import curves
from .neurons import dead_neurons, layer_templates, neuron_activity, neuron_detail, neuron_order, \
    output_templates, pixel_usage, weight_images
from .parameters import parameter_table
from .path import first_layer_contributions, output_contributions, pixel_contributions, softmax_steps, \
    trace, unit_contributions
from .sensitivity import pixel_weights

__all__ = ["Explanation", "backprop_step", "batch_norm_statistics", "feature_maps", "filters",
           "pooling_step", "receptive_field", "confusion_cell", "curves", "dead_neurons", "evaluate", "explain", "instructive_example", "layer_templates",
           "first_layer_contributions",
           "flatten_strip", "index_to_pixel", "make_twin", "neuron_activity",
           "neuron_detail", "neuron_order", "output_contributions", "output_templates", "parameter_table",
           "pixel_contributions", "pixel_to_index", "pixel_usage", "pixel_weights", "softmax_steps", "to_json",
           "trace", "unit_contributions", "weight_images"]
