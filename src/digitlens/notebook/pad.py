"""`draw(model)`: a drawing pad in the cell's output, with the network thinking as you draw.

    pad = digitlens.notebook.draw(model)
    pad                      # draw a digit: the preparation, the flatten strip, every hidden
                             # layer's neurons and the outputs follow the pen; click a neuron
                             # or an output to see what drove it
    pad.pixels               # the prepared 28x28 digit the network read (uint8, as MNIST's)
    pad.prediction           # the digit it read, pad.probabilities its 10 probabilities
    pad.image = x_test[7]    # show a digit from Python instead

How it talks: the browser paints the strokes on a 280 x 280 canvas and keeps a 140 x 140
grey copy of it (`board`). After each bit of a stroke it sends only the rectangle of that copy
that changed (a few hundred bytes), at most every 50 ms and one message at a time. Python patches
its own copy, prepares it the way MNIST's digits were prepared (datasets.images.prepare_image,
as the command line and the web app do), runs it through the model with digitlens.explain and
sends the numbers back (payloads.py): about 3 KB for the lesson's network. No digitlens server is
involved; the notebook's kernel does the work.

Left out: uploading a photo (the web app and `digitlens predict` take files; in Python,
`pad.image = datasets.prepare_image("photo.png")` does it) and undoing a stroke.
"""

import math
import time

import anywidget
import numpy as np
import traitlets

from ..datasets.images import SIZE, prepare_image
from ..errors import DigitlensError, ImageError
from ..explain.common import require_pixels_into_first_dense
from . import assets, payloads

BOARD = 140          # the board's side in Python: the 280-pixel canvas averaged over 2 x 2


class DrawPad(anywidget.AnyWidget):
    """The pad: give it a built model (a digitlens Sequential, or one read from a Keras file)."""

    _esm = assets.module_text("notebook/static/pad.js")
    _css = assets.style_text()

    setup = traitlets.Dict().tag(sync=True)              # layers, class names, colours: fixed
    board_loaded = traitlets.Bytes(b"").tag(sync=True)   # a board set from Python (pad.image = ...)
    result = traitlets.Dict().tag(sync=True)             # the last prediction's JSON part
    strip = traitlets.Bytes(b"").tag(sync=True)          # its 784 inputs (uint8)
    layers = traitlets.Bytes(b"").tag(sync=True)         # its z and activations (float32)
    steps = traitlets.Bytes(b"").tag(sync=True)          # the drawing cropped and scaled (uint8)
    inspected = traitlets.Dict().tag(sync=True)          # the neuron or output clicked, explained
    inspected_data = traitlets.Bytes(b"").tag(sync=True)

    def __init__(self, model, **kwargs):
        model._require_built()
        payloads.dense_layers(model)          # refuses a model without Dense layers, in one line
        if math.prod(model.input_shape) != SIZE * SIZE:
            raise DigitlensError(f"draw: expected a model of 28 x 28 images, received input shape "
                                 f"{tuple(model.input_shape)}")
        # The pad shows the flatten strip and each Dense layer's neurons as the pixels feed them; a
        # CNN's feature maps as you draw are on the web app's Draw tab (digitlens serve MODEL).
        require_pixels_into_first_dense(model, "draw (the notebook's pad; for a CNN, digitlens serve MODEL)")
        super().__init__(**kwargs)
        self.model = model
        self.board = np.zeros((BOARD, BOARD), dtype=np.uint8)
        self._pixels = None
        self._probabilities = None
        self._seq = 0
        self._loads = 0
        self._looking_at = None               # (layer, unit) while an inspection is open
        self.setup = {"layers": payloads.layer_list(model), "class_names": payloads.class_names(model),
                      "colors": payloads.colour_table(), "board": BOARD}
        self.on_msg(self._on_message)

    # ---- what Python sees ------------------------------------------------------------------

    @property
    def pixels(self):
        """The prepared 28x28 digit (uint8 0-255, light ink on black), or None while blank."""
        return None if self._pixels is None else self._pixels.copy()

    @property
    def image(self):
        """The digit on the pad as the network reads it (the same as pixels)."""
        return self.pixels

    @image.setter
    def image(self, value):
        """Show a prepared digit: (28, 28) or 784 values, uint8 0-255 or floats 0-1 (x_test[7],
        or x_test[7] / 255). It is used as it is, like an MNIST digit, and drawn on the board."""
        digit = as_digit(value)
        self.board = np.repeat(np.repeat(digit, BOARD // SIZE, axis=0), BOARD // SIZE, axis=1)
        self._loads += 1
        self._predict(digit, None, seq=self._seq, loaded=True)

    @property
    def prediction(self):
        """The digit the network reads (an int), or None while the pad is blank."""
        return None if self._probabilities is None else int(np.argmax(self._probabilities))

    @property
    def probabilities(self):
        """The network's probabilities for the digit on the pad (array of 10), or None."""
        return None if self._probabilities is None else self._probabilities.copy()

    def clear(self):
        """Wipe the pad (in Python and in every view of it)."""
        self.board[...] = 0
        self._loads += 1
        self._show_blank(self._seq, loaded=True)

    # ---- messages from the browser ---------------------------------------------------------

    def _on_message(self, widget, content, buffers):
        kind = content.get("type") if isinstance(content, dict) else None
        try:
            if kind == "board":
                self._patch(content, buffers)
            elif kind == "clear":
                self.board[...] = 0
                self._show_blank(int(content.get("seq", self._seq)))
            elif kind == "inspect":
                layers = payloads.dense_layers(self.model)
                layer = payloads.check_unit(content["layer"], len(layers), "layer")
                unit = payloads.check_unit(content["unit"], layers[layer][1].units, "unit")
                self._looking_at = (layer, unit)
                self._inspect()
            elif kind == "hello":            # a new view: give it the board Python has
                if self.board.any():
                    self._loads += 1
                    self.board_loaded = self._board_message()
            elif kind == "close":
                self._looking_at = None
                self.inspected = {}
        except (DigitlensError, KeyError, TypeError, ValueError) as error:
            self.send({"type": "error", "message": str(error)})

    def _patch(self, content, buffers):
        """Copy the changed rectangle into the board, then prepare and predict the board."""
        x, y, w, h = (int(content[k]) for k in ("x", "y", "w", "h"))
        if not (0 <= x and 0 <= y and w > 0 and h > 0 and x + w <= BOARD and y + h <= BOARD):
            raise ValueError(f"board: a rectangle inside {BOARD} x {BOARD} expected, received "
                             f"x={x} y={y} w={w} h={h}")
        patch = np.frombuffer(bytes(buffers[0]), dtype=np.uint8)
        if patch.size != w * h:
            raise ValueError(f"board: expected {w * h} bytes for a {w} x {h} rectangle, received {patch.size}")
        self.board[y:y + h, x:x + w] = patch.reshape(h, w)
        seq = int(content.get("seq", 0))
        try:
            digit, steps = prepare_image(self.board, return_steps=True)
        except ImageError:                    # nothing drawn (or only specks): a blank pad
            self._show_blank(seq)
            return
        self._predict(digit, steps, seq)

    # ---- sending -----------------------------------------------------------------------------

    def _predict(self, digit, steps, seq, loaded=False):
        started = time.perf_counter()
        info, data = payloads.prediction(self.model, digit, steps)
        self._pixels = digit
        self._probabilities = np.asarray(info["probabilities"], dtype=np.float32)
        self._seq = seq
        info.update(seq=seq, ms=round((time.perf_counter() - started) * 1000, 2), empty=False,
                    source="python" if loaded else "drawing")
        with self.hold_sync():
            if loaded:
                self.board_loaded = self._board_message()
            self.strip, self.layers, self.steps = data["strip"], data["layers"], data["steps"]
            self.result = info
            if self._looking_at is not None:
                self._inspect()

    def _show_blank(self, seq, loaded=False):
        self._pixels = self._probabilities = None
        self._seq = seq
        with self.hold_sync():
            if loaded:
                self.board_loaded = self._board_message()
            self.strip = self.layers = self.steps = b""
            self.result = {"seq": seq, "empty": True}
            self.inspected = {}

    def _board_message(self):
        # A counter first, so that loading the same board twice is still a change the views see.
        return self._loads.to_bytes(4, "little") + self.board.tobytes()

    def _inspect(self):
        if self._looking_at is None or self._pixels is None:
            self.inspected = {}
            return
        layer, unit = self._looking_at
        info, data = payloads.inspection(self.model, self._pixels, layer, unit)
        info["seq"] = self._seq
        with self.hold_sync():
            self.inspected_data = data
            self.inspected = info

    def __repr__(self):
        return f"<DrawPad for {self.model.name!r}: {'blank' if self._pixels is None else self.prediction}>"


def as_digit(value, argument="image"):
    """A prepared digit as (28, 28) uint8: from 784 or 28x28 values, uint8 0-255 or floats 0-1."""
    values = np.asarray(value)
    if values.size != SIZE * SIZE:
        raise ImageError(f"{argument}: expected a 28x28 digit (or 784 values), received shape {values.shape}")
    values = values.reshape(SIZE, SIZE)
    if values.dtype == np.uint8:
        return values.copy()
    values = values.astype(np.float64)
    if not np.isfinite(values).all() or values.min() < 0 or values.max() > 255:
        raise ImageError(f"{argument}: expected values 0-255 (or 0-1), received {values.min():g} to {values.max():g}")
    if values.max() <= 1.0:
        values = values * 255.0               # x_test / 255: back to MNIST's 0-255
    return np.rint(values).astype(np.uint8)


def draw(model):
    """A drawing pad for `model` (see the module docstring); display it by leaving it last in a cell."""
    return DrawPad(model)
