"""The widgets' front-end: ES modules shipped inside the package, linked for the browser.

A widget's JavaScript is one ES module that anywidget hands to the browser as text. The widgets'
modules (notebook/static/*.js) import the web app's own modules (web/static/js/colors.js,
chart.js, state.js) with ordinary relative imports, so the page and the notebook draw with the
same code. A module given as text has no address, though, so the browser cannot follow a relative
import from it. `module_text(entry)` therefore ships every module the entry needs, in dependency
order, and a few lines of loader that give each one a blob: address and point the imports at
those addresses before loading the entry.

    module_text("notebook/static/pad.js")   # the text for a widget's _esm
    style_text()                            # the widgets' style sheet, for _css

Everything comes from files inside the package: nothing is fetched, so the widgets work offline.
Left out: bundling, minifying and any build step; the modules are sent as they are on disk.
"""

import functools
import json
import posixpath
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]            # src/digitlens
STYLE = "notebook/static/widgets.css"

# `import ... from "./x.js"`, `export ... from "../y.js"` and `import "./z.js"`: relative only.
IMPORT = re.compile(r"""(\b(?:from|import)\s*)(["'])(\.\.?/[^"']+)\2""")


def read(name):
    """The text of package file `name` (a path relative to src/digitlens, with forward slashes)."""
    return (PACKAGE / name).read_text(encoding="utf-8")


def dependencies(name, text):
    """The package paths of the modules `name` imports, in the order they appear."""
    folder = posixpath.dirname(name)
    return [posixpath.normpath(posixpath.join(folder, match.group(3))) for match in IMPORT.finditer(text)]


def linked(entry):
    """[(name, text)] for `entry` and every module it imports, each after the modules it needs.

    In each text, the relative imports are replaced by "digitlens:<package path>", which the
    loader swaps for the module's blob: address.
    """
    done, order = set(), []

    def visit(name, chain):
        if name in done:
            return
        if name in chain:
            raise ValueError(f"{name}: imports itself through {' -> '.join(chain)}")
        text = read(name)
        for needed in dependencies(name, text):
            visit(needed, chain + (name,))
        folder = posixpath.dirname(name)
        text = IMPORT.sub(lambda m: f'{m.group(1)}"digitlens:'
                          f'{posixpath.normpath(posixpath.join(folder, m.group(3)))}"', text)
        done.add(name)
        order.append((name, text))

    visit(entry, ())
    return order


LOADER = """
// digitlens: the modules above, linked through blob: addresses (see digitlens/notebook/assets.py).
const cache = (globalThis.__digitlens_modules ??= new Map());
async function load() {
  const urls = {};
  for (const [name, text] of MODULES) {
    const key = name + "\\u0000" + text;        // one copy per page of each version of a module
    if (!cache.has(key)) {
      let linked = text;
      for (const [other, url] of Object.entries(urls)) linked = linked.split(`"digitlens:${other}"`).join(JSON.stringify(url));
      cache.set(key, URL.createObjectURL(new Blob([linked], { type: "text/javascript" })));
    }
    urls[name] = cache.get(key);
  }
  return import(urls[ENTRY]);
}
const entry = await load();
export default entry.default;
"""


@functools.lru_cache(maxsize=None)
def module_text(entry):
    """The ES module text for a widget whose code starts at package file `entry`."""
    modules = linked(entry)
    return (f"const MODULES = {json.dumps(modules)};\nconst ENTRY = {json.dumps(entry)};\n" + LOADER)


@functools.lru_cache(maxsize=None)
def style_text():
    """The widgets' style sheet (every rule under .digitlens-widget)."""
    return read(STYLE)
