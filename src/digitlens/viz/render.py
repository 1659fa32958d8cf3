"""Drawing a page's figures: one after another, or several at once on a machine with the cores.

A report holds about ten matplotlib figures, and matplotlib draws a figure on one core, most of
the time spent laying out text and painting pixels - well over half of `digitlens explain`. The
figures do not depend on each other, so they can be drawn side by side:

    pictures = Pictures()
    html = pictures.img(lambda: path_figure(model, image), "the image's path")   # a placeholder
    pictures.start()                   # optional: workers start drawing while the rest is written
    page = pictures.fill(html)         # every figure drawn, as PNG data URIs in their places

Drawing in turn (`workers=1`) is the reference, and what happens where the fast path cannot
run. The fast path forks worker processes: each is a copy of this one - the model, the images
and the numbers already computed, nothing sent to it - that draws its share of the figures and
sends back only the PNG bytes. The page comes out byte for byte the same (tests/test_viz.py
holds the two equal). Forking is Linux's way; elsewhere, or with one core, the figures are drawn
in turn. DIGITLENS_WORKERS sets how many processes draw (1: none).
"""

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from html import escape

from .output import data_uri

MAX_WORKERS = 4
_pending = None        # the figures being drawn, seen by the forked workers as they were at the fork


class Pictures:
    """The figures of one page, each made by a function, drawn when the page is filled in - or
    started early (`start`), so that workers draw them while this process writes the rest."""

    def __init__(self, workers=None):
        self.makers = []
        self.workers = workers
        self.pool = self.futures = None

    def img(self, make, alt):
        """An <img> for the figure `make()` will return, with a placeholder for its data."""
        self.makers.append(make)
        return f'<img src="{self._token(len(self.makers) - 1)}" alt="{escape(alt)}">'

    def start(self):
        """Start drawing the figures so far in worker processes, if there are cores for them."""
        global _pending
        workers = default_workers(len(self.makers)) if self.workers is None else self.workers
        if workers <= 1 or len(self.makers) <= 1 or self.pool is not None:
            return
        _pending = list(self.makers)           # what the workers will see: forked from this moment
        warm_up()
        try:
            self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
            self.futures = [self.pool.submit(_draw, i) for i in range(len(_pending))]
        except OSError:                        # no processes to be had: they will be drawn here
            self.close()

    def fill(self, html):
        """html with every placeholder replaced by its figure as a PNG data URI."""
        if self.futures is None:
            uris = draw_all(self.makers, self.workers)         # not started: all of them now
        else:
            try:
                uris = [future.result() for future in self.futures]
            except BrokenProcessPool:                           # a worker died: draw them here
                uris = []
            finally:
                self.close()
            uris += [data_uri(make()) for make in self.makers[len(uris):]]   # any added after start
        for i, uri in enumerate(uris):
            html = html.replace(self._token(i), uri, 1)
        return html

    def close(self):
        global _pending
        if self.pool is not None:
            self.pool.shutdown()
        self.pool = self.futures = None
        _pending = None

    @staticmethod
    def _token(i):
        return f"digitlens-picture-{i}:"


def default_workers(count):
    """How many processes should draw `count` figures here: 1 unless forking is possible and
    there is more than one core to use."""
    if "DIGITLENS_WORKERS" in os.environ:
        try:
            return max(1, int(os.environ["DIGITLENS_WORKERS"]))
        except ValueError:
            return 1
    if sys.platform != "linux" or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, min(count, cores, MAX_WORKERS))


def warm_up():
    """Import matplotlib's figures and draw a tiny one, once, before forking: otherwise every
    worker would spend half a second on its first figure doing just that."""
    import io

    from .style import drawn_in_house_style, new_figure

    @drawn_in_house_style
    def tiny():
        fig = new_figure(1, 1)
        ax = fig.add_subplot()
        ax.set_title("0.5", fontweight="bold")
        ax.text(0.5, 0.5, "1.0")
        return fig

    tiny().savefig(io.BytesIO(), format="png")


def draw_all(makers, workers=None):
    """[data URI of make()'s picture for each make in makers], in order."""
    workers = default_workers(len(makers)) if workers is None else workers
    if workers <= 1 or len(makers) <= 1:
        return [data_uri(make()) for make in makers]
    global _pending
    _pending = makers
    warm_up()
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            return list(pool.map(_draw, range(len(makers))))
    except (OSError, BrokenProcessPool):       # no processes to be had: draw them here
        return [data_uri(make()) for make in makers]
    finally:
        _pending = None


def _draw(i):
    return data_uri(_pending[i]())
