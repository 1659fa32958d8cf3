"""Pictures by default: how a model and an explanation show themselves in a notebook.

    model                      # last in a cell: the summary with the arithmetic of every count,
                               # and the lesson's drawing of this network
    e = dn.explain(model, x_test[0], label=7, x=x_test, y=y_test)
    e                          # every section of the report: network, flatten, parameters,
                               # path, neurons, backprop, evaluation, training
    e.flatten                  # one section on its own (each name above is an attribute)
    e.data                     # the numbers: digitlens.explain's Explanation

Importing digitlens in a running notebook calls `register()`, which tells IPython how to show a
digitlens Sequential (any of its subclasses, such as `from digitlens import keras`'s) and an
explain.Explanation - by the classes' names, so nothing is imported until one is shown. The
sections are the report's own (viz.report.section_html); the HTML is self-contained (inline
pictures, a style sheet scoped to its own box), so a saved notebook shows them anywhere.

Left out: interaction (the widgets are pad.py, live.py and step.py) and any picture of its own:
every section is drawn by digitlens.viz.
"""

import copy
import re
from html import escape

REPORT_CLASS = "digitlens-report"


def register(shell=None):
    """Show models and explanations as pictures in this IPython session; True if there is one."""
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None:
        return False
    html = shell.display_formatter.formatters["text/html"]
    html.for_type_by_name("digitlens.nn.model", "Sequential", model_html)
    html.for_type_by_name("digitlens.explain.explanation", "Explanation",
                          lambda e: ExplanationView(e)._repr_html_())
    return True


# ---- the model ----------------------------------------------------------------------------------

def model_html(model):
    """A model as HTML: Keras's summary with where each count comes from, then the diagram.

    A model that knows its input shape but has not been built yet (Flatten(input_shape=(28, 28))
    before fit) is shown through a built copy: same shapes and counts, and - since the copy
    carries the model's random generator - the very weights the model will start from.
    """
    from ..nn.summary import summary_html

    shown, note = model, ""
    if not model.built and model.declared_input_shape is not None:
        shown = copy.deepcopy(model).build()
        note = ('<p class="note">Not built yet: the shapes and counts follow from its input shape '
                f"{tuple(model.declared_input_shape)}, and the drawing shows the random weights it "
                "will start from.</p>")
    parts = [f'<div class="{REPORT_CLASS}">', _style(), summary_html(shown), note]
    if shown.built:
        from ..viz.diagram import diagram_svg
        from ..viz.html import inline_svg

        parts.append(inline_svg(diagram_svg(shown)))
    else:
        parts.append('<p class="note">Not built yet: the drawing and the counts follow once it knows '
                     "its input shape (give the first layer input_shape=(28, 28), or call fit()).</p>")
    parts.append("</div>")
    return "\n".join(parts)


class ModelView:
    """A model shown in full (display.py's model_html); the model itself shows the same."""

    def __init__(self, model):
        self.model = model

    def _repr_html_(self):
        return model_html(self.model)

    def __repr__(self):
        return repr(self.model)


def model_view(model):
    return ModelView(model)


# ---- an explanation -----------------------------------------------------------------------------

class Section:
    """One section of an explanation, as HTML that displays itself."""

    def __init__(self, name, html):
        self.name, self.html = name, html

    def _repr_html_(self):
        return f'<div class="{REPORT_CLASS}">{_style()}{self.html}</div>'

    def __repr__(self):
        return f"<digitlens section {self.name!r}: display it in a notebook to see it>"


class ExplanationView:
    """An explain.Explanation with its pictures: all sections, or one at a time by name."""

    def __init__(self, explanation, seen=None, data_name=None):
        self.data = explanation
        self.seen = seen if seen is not None else explanation.x
        self.data_name = data_name
        self._sections = {}

    def section(self, name):
        """The section called `name` (see SECTIONS), drawn on first use."""
        from ..viz.report import section_html

        if name not in self._sections:
            if name in ("flatten", "path") and self.data.image is None:
                html = (f'<section data-section="{name}"><p class="note">Give an image to see this section: '
                        f"dn.explain(model, x_test[0]).</p></section>")
            else:
                html = _unique(section_html(self.data, name, self.seen, self.data_name))
            self._sections[name] = Section(name, html)
        return self._sections[name]

    # a convolutional network's sections (viz.report_conv), beside the lesson's below
    filters = property(lambda self: self.section("filters"), doc="a CNN's kernels, with their numbers")
    feature_maps = property(lambda self: self.section("feature-maps"), doc="what each filter finds in the image")
    pooling = property(lambda self: self.section("pooling"), doc="which values of each window survive")
    receptive_field = property(lambda self: self.section("receptive-field"), doc="the pixels one unit reads")
    batch_norm = property(lambda self: self.section("batch-norm"), doc="a batch's mean, variance, scale, shift")
    network = property(lambda self: self.section("network"), doc="the lesson's drawing of this network")
    flatten = property(lambda self: self.section("flatten"), doc="the image cut into rows, end to end")
    parameters = property(lambda self: self.section("parameters"), doc="where every parameter lives")
    path = property(lambda self: self.section("path"), doc="one image through every layer")
    neurons = property(lambda self: self.section("neurons"), doc="what each neuron looks for")
    backprop = property(lambda self: self.section("backprop"), doc="one real step of learning")
    evaluation = property(lambda self: self.section("evaluation"), doc="accuracy and mistakes")
    training = property(lambda self: self.section("training"), doc="the training curves")
    hidden_space = property(lambda self: self.section("hidden-space"), doc="the test images mapped by pixels and by the hidden layer")
    timeline = property(lambda self: self.section("timeline"), doc="how it learned, from its training timeline")

    @property
    def sections(self):
        """The report's sections this model has (a CNN has filters, feature-maps, ... too)."""
        from ..viz.report import sections_for

        return list(sections_for(self.data.model))

    def _repr_html_(self):
        e = self.data
        head = f"<h2>{escape(e.model.name)}: {e.parameters['total']:,} parameters ({e.parameters['size']})</h2>"
        if e.trace is not None:
            t = e.trace
            names = t["class_names"]
            head += (f'<p>The image is read as <span class="big">{escape(names[t["prediction"]])}</span> '
                     f'({t["probabilities"][t["prediction"]]:.1%})'
                     + (f", and it is {escape(names[e.label])}." if e.label is not None else ".") + "</p>")
        body = "\n".join(self.section(name).html for name in self.sections)
        return (f'<div class="{REPORT_CLASS}">{_style()}{head}'
                f'<p class="note">Each section is also there on its own: '
                f'{", ".join(_accessor(self, n) for n in self.sections)}.</p>{body}</div>')

    def __repr__(self):
        return f"<digitlens explanation of {self.data.model.name!r}: sections {', '.join(self.sections)}>"


def explain(model, image=None, label=None, x=None, y=None, class_names=None, x_train=None, data_name=None):
    """An explanation that shows its pictures: of `model`, and of one `image` (with its right
    `label`, for the backprop step), with a test set x, y for the evaluation. x_train: images to
    find dead neurons and templates on (default: x). `model` may also be an existing
    explain.Explanation. Returns an ExplanationView (see the module docstring)."""
    from ..explain.explanation import Explanation, explain as compute

    if isinstance(model, Explanation):
        e = model
    else:
        names = class_names if class_names is not None else getattr(model, "class_names", None)
        e = compute(model, image, label, x, y, names)
    seen = x_train[:10_000] if x_train is not None else None
    return ExplanationView(e, seen=seen, data_name=data_name)


# ---- HTML helpers -------------------------------------------------------------------------------

def _accessor(view, name):
    """How a notebook asks `view` for section `name`: .path, .feature_maps (for "feature-maps"), or
    .section("name") where there is no such attribute."""
    attribute = name.replace("-", "_")
    return f".{attribute}" if isinstance(getattr(type(view), attribute, None), property) else f'.section("{name}")'


def _unique(html):
    """The report's sections carry page ids (id="path"); in a notebook many can be shown at once."""
    return re.sub(r'<section id="', '<section data-section="', html)


def _style():
    """viz.html's style sheet and viz.conv's (the CNN sections'), each rule confined to the report's
    box (a notebook is not a page)."""
    from ..viz.conv import CSS as CNN_CSS
    from ..viz.html import CSS

    rules = []
    sheet = CSS + CNN_CSS.replace("<style>", "").replace("</style>", "")
    for selectors, body in re.findall(r"([^{}]+)\{([^{}]*)\}", sheet):
        scoped = []
        for selector in selectors.split(","):
            selector = selector.strip()
            if selector in ("body", "main"):
                scoped.append(f".{REPORT_CLASS}")
            else:
                scoped.append(f".{REPORT_CLASS} {selector}")
        rules.append(f"{', '.join(scoped)} {{{body}}}")
    return "<style>" + "\n".join(rules) + "</style>"
