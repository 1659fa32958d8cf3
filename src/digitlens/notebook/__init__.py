"""digitlens in a Jupyter notebook: live widgets and pictures in the output cells.

    import digitlens.notebook as dn

    pad = dn.draw(model)                 # draw a digit, watch every layer, click a neuron
    pad.pixels                           # the prepared 28x28 digit, in Python
    pad.image = x_test[7]                # ... or show one from Python

    model.fit(x_train, y_train, epochs=5, callbacks=[dn.LiveTraining()])
                                         # live curves, weight images, time left, a Stop button

    dn.backprop(model, x_test[0], 7)     # one real training step, and a button for the next

    e = dn.explain(model, x_test[0], label=7, x=x_test, y=y_test)
    e                                    # every section of the report, as pictures
    e.flatten, e.path, e.neurons         # ... or one at a time

A model shows its summary, the arithmetic of its parameter count and the lesson's drawing of it
as soon as digitlens is imported in a notebook (display.py); so does an explain.Explanation.

The widgets are anywidget widgets, so the same code runs in JupyterLab, Notebook 7, VS Code and
Colab, with nothing to install or enable beyond digitlens itself. Their JavaScript ships inside
the package (static/, with the web app's own modules) and every number they show is computed in
the notebook's kernel by digitlens.explain: no server of digitlens's runs.
"""

import importlib

_NAMES = {"draw": "pad", "DrawPad": "pad", "LiveTraining": "live", "backprop": "step",
          "BackpropStep": "step", "explain": "display", "model_view": "display", "register": "display"}


def __getattr__(name):
    # Imported on first use, so that `import digitlens` in a notebook (which registers the
    # pictures, display.py) does not load the widgets until one is asked for.
    if name in _NAMES:
        return getattr(importlib.import_module(f"{__name__}.{_NAMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = sorted(_NAMES)
