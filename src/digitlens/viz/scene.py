"""A tiny drawing list that renders to SVG (text, hand-written) or PNG (Pillow).

The network diagram is a drawing, not a chart, so it is described once as shapes - rectangles,
circles, lines, curves, text - and each shape knows how to write itself as SVG and how to paint
itself with Pillow. PNGs are painted at twice the size and scaled down, for smooth edges.

    scene = Scene(400, 200)
    scene.circle(50, 50, 10, fill="#2166ac")
    scene.text(50, 80, "a neuron", size=12, anchor="middle")
    scene.svg()           # the SVG document as a string
    scene.png()           # an (H, W, 3) uint8 array
"""

from html import escape

import numpy as np

SUPERSAMPLE = 2


class Scene:
    def __init__(self, width, height, background="#ffffff"):
        self.width, self.height = int(width), int(height)
        self.background = background
        self.shapes = []

    # ---- shapes ----------------------------------------------------------------------------

    def rect(self, x, y, w, h, fill="none", stroke=None, stroke_width=1.0, opacity=1.0):
        self.shapes.append(("rect", dict(x=x, y=y, w=w, h=h, fill=fill, stroke=stroke,
                                         sw=stroke_width, opacity=opacity)))

    def circle(self, cx, cy, r, fill="none", stroke=None, stroke_width=1.0, opacity=1.0):
        self.shapes.append(("circle", dict(cx=cx, cy=cy, r=r, fill=fill, stroke=stroke,
                                           sw=stroke_width, opacity=opacity)))

    def line(self, x1, y1, x2, y2, stroke="#000000", stroke_width=1.0, opacity=1.0, dash=None):
        self.shapes.append(("line", dict(x1=x1, y1=y1, x2=x2, y2=y2, stroke=stroke, sw=stroke_width,
                                         opacity=opacity, dash=dash)))

    def curve(self, x1, y1, x2, y2, stroke="#000000", stroke_width=1.0, opacity=1.0):
        """A smooth S-curve from (x1, y1) to (x2, y2), leaving and arriving horizontally."""
        self.shapes.append(("curve", dict(x1=x1, y1=y1, x2=x2, y2=y2, stroke=stroke, sw=stroke_width,
                                          opacity=opacity)))

    def text(self, x, y, text, size=12, fill="#222222", anchor="start", weight="normal"):
        """Text whose vertical middle is at y; anchor "start", "middle" or "end" sets x."""
        self.shapes.append(("text", dict(x=x, y=y, text=str(text), size=size, fill=fill, anchor=anchor,
                                         weight=weight)))

    # ---- SVG -------------------------------------------------------------------------------

    def svg(self, title=None):
        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width}" height="{self.height}" '
               f'viewBox="0 0 {self.width} {self.height}" font-family="DejaVu Sans, Verdana, sans-serif">']
        if title:
            out.append(f"<title>{escape(title)}</title>")
        out.append(f'<rect width="{self.width}" height="{self.height}" fill="{self.background}"/>')
        for kind, s in self.shapes:
            out.append(getattr(self, "_svg_" + kind)(s))
        out.append("</svg>")
        return "\n".join(out)

    @staticmethod
    def _paint(s):
        parts = []
        if "fill" in s:
            parts.append(f'fill="{s["fill"]}"')
        if s.get("stroke"):
            parts.append(f'stroke="{s["stroke"]}" stroke-width="{_n(s["sw"])}"')
        if s.get("opacity", 1.0) < 1.0:
            parts.append(f'opacity="{s["opacity"]:.3f}"')
        if s.get("dash"):
            parts.append(f'stroke-dasharray="{s["dash"]}"')
        return " ".join(parts)

    def _svg_rect(self, s):
        return (f'<rect x="{_n(s["x"])}" y="{_n(s["y"])}" width="{_n(s["w"])}" height="{_n(s["h"])}" '
                f'{self._paint(s)}/>')

    def _svg_circle(self, s):
        return f'<circle cx="{_n(s["cx"])}" cy="{_n(s["cy"])}" r="{_n(s["r"])}" {self._paint(s)}/>'

    def _svg_line(self, s):
        return (f'<line x1="{_n(s["x1"])}" y1="{_n(s["y1"])}" x2="{_n(s["x2"])}" y2="{_n(s["y2"])}" '
                f'{self._paint(s)}/>')

    def _svg_curve(self, s):
        mid = (s["x1"] + s["x2"]) / 2
        d = (f'M{_n(s["x1"])},{_n(s["y1"])} C{_n(mid)},{_n(s["y1"])} {_n(mid)},{_n(s["y2"])} '
             f'{_n(s["x2"])},{_n(s["y2"])}')
        return f'<path d="{d}" fill="none" {self._paint(s)}/>'

    def _svg_text(self, s):
        weight = ' font-weight="bold"' if s["weight"] == "bold" else ""
        return (f'<text x="{_n(s["x"])}" y="{_n(s["y"])}" font-size="{_n(s["size"])}" fill="{s["fill"]}" '
                f'text-anchor="{s["anchor"]}" dominant-baseline="central"{weight}>{escape(s["text"])}</text>')

    # ---- PNG -------------------------------------------------------------------------------

    def png(self):
        """The scene painted as an (height, width, 3) uint8 array."""
        from PIL import Image, ImageDraw

        k = SUPERSAMPLE
        image = Image.new("RGB", (self.width * k, self.height * k), self.background)
        draw = ImageDraw.Draw(image, "RGBA")
        for kind, s in self.shapes:
            getattr(self, "_png_" + kind)(draw, s, k)
        image = image.resize((self.width, self.height), Image.LANCZOS)
        return np.asarray(image)

    def _png_rect(self, draw, s, k):
        box = [s["x"] * k, s["y"] * k, (s["x"] + s["w"]) * k - 1, (s["y"] + s["h"]) * k - 1]
        draw.rectangle(box, fill=_rgba(s["fill"], s["opacity"]),
                       outline=_rgba(s["stroke"], s["opacity"]), width=max(1, round(s["sw"] * k)))

    def _png_circle(self, draw, s, k):
        r = s["r"] * k
        box = [s["cx"] * k - r, s["cy"] * k - r, s["cx"] * k + r, s["cy"] * k + r]
        draw.ellipse(box, fill=_rgba(s["fill"], s["opacity"]), outline=_rgba(s["stroke"], s["opacity"]),
                     width=max(1, round(s["sw"] * k)))

    def _png_line(self, draw, s, k):
        points = [(s["x1"] * k, s["y1"] * k), (s["x2"] * k, s["y2"] * k)]
        if s.get("dash"):
            points = _dashed(points[0], points[1], [float(v) * k for v in s["dash"].split(",")])
            for a, b in points:
                draw.line([a, b], fill=_rgba(s["stroke"], s["opacity"]), width=max(1, round(s["sw"] * k)))
            return
        draw.line(points, fill=_rgba(s["stroke"], s["opacity"]), width=max(1, round(s["sw"] * k)))

    def _png_curve(self, draw, s, k):
        t = np.linspace(0.0, 1.0, 24)[:, None]
        mid = (s["x1"] + s["x2"]) / 2
        p0, p1, p2, p3 = (np.array(p) * k for p in ((s["x1"], s["y1"]), (mid, s["y1"]),
                                                     (mid, s["y2"]), (s["x2"], s["y2"])))
        points = (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t ** 2 * p2 + t ** 3 * p3
        draw.line([tuple(p) for p in points], fill=_rgba(s["stroke"], s["opacity"]),
                  width=max(1, round(s["sw"] * k)))

    def _png_text(self, draw, s, k):
        font = _font(s["size"] * k, s["weight"] == "bold")
        anchor = {"start": "lm", "middle": "mm", "end": "rm"}[s["anchor"]]
        draw.text((s["x"] * k, s["y"] * k), s["text"], fill=_rgba(s["fill"], 1.0), font=font, anchor=anchor)


_fonts = {}


def _font(size, bold):
    """DejaVu Sans (shipped with matplotlib) at `size` pixels; Pillow's own font if missing."""
    key = (round(size), bold)
    if key not in _fonts:
        from PIL import ImageFont

        try:
            import matplotlib

            name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
            _fonts[key] = ImageFont.truetype(f"{matplotlib.get_data_path()}/fonts/ttf/{name}", key[0])
        except (ImportError, OSError):
            _fonts[key] = ImageFont.load_default(size=key[0])
    return _fonts[key]


def _rgba(colour, opacity):
    if colour is None or colour == "none":
        return None
    colour = colour.lstrip("#")
    r, g, b = (int(colour[i:i + 2], 16) for i in (0, 2, 4))
    return (r, g, b, int(round(255 * opacity)))


def _dashed(a, b, pattern):
    (x1, y1), (x2, y2) = a, b
    length = float(np.hypot(x2 - x1, y2 - y1)) or 1.0
    on, off = pattern[0], pattern[1] if len(pattern) > 1 else pattern[0]
    pieces, t = [], 0.0
    while t < length:
        end = min(t + on, length)
        pieces.append(((x1 + (x2 - x1) * t / length, y1 + (y2 - y1) * t / length),
                       (x1 + (x2 - x1) * end / length, y1 + (y2 - y1) * end / length)))
        t += on + off
    return pieces


def _n(value):
    """A number for SVG: at most two decimals, no trailing zeros."""
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def hex_colour(rgb):
    """(r, g, b) 0-255 -> "#rrggbb"."""
    return "#{:02x}{:02x}{:02x}".format(*(int(v) for v in rgb))
