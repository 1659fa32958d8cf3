// What the notebook's widgets share: reading the bytes Python sends, and small pieces of view
// (a neuron grid lit by activations, probability bars) that know nothing about where the numbers
// come from. Colours, number formats and elements are the web app's own (colors.js, state.js).

import { drawGray, fixed, lit, percent } from "../../web/static/js/colors.js";
import { el } from "../../web/static/js/state.js";

// A Bytes trait arrives as a DataView (sometimes an ArrayBuffer or a typed array).
export function bytes(value) {
  if (!value) return new Uint8Array(0);
  if (value instanceof Uint8Array) return value;
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return new Uint8Array(value);
}

// float32 values, little-endian, as Python's payloads.floats lays them out.
export function floats(value) {
  const b = bytes(value);
  const copy = new Uint8Array(b.length);      // aligned for a Float32Array
  copy.set(b);
  return new Float32Array(copy.buffer, 0, Math.floor(b.length / 4));
}

export function widgetRoot(kind) {
  return el("div", { class: `digitlens-widget ${kind}` });
}

// A grid of neuron buttons for one layer: call paint(activations) to light them.
export function neuronGrid(layer, onPick) {
  const cols = Math.max(1, Math.ceil(Math.sqrt(layer.units)));
  const pitch = Math.max(7, Math.min(22, Math.floor(260 / cols)));
  const grid = el("div", { class: "dl-grid", role: "group", "aria-label": `${layer.name}: ${layer.units} neurons` });
  grid.style.setProperty("--cols", cols);
  grid.style.setProperty("--pitch", `${pitch}px`);
  const cells = [];
  for (let j = 0; j < layer.units; j++) {
    const b = el("button", { type: "button", class: "dl-neuron", "data-layer": layer.index, "data-unit": j,
      "aria-label": `${layer.name} neuron ${j}`, onclick: () => onPick(layer.index, j) });
    cells.push(b);
  }
  grid.replaceChildren(...cells);
  const legend = el("div", { class: "dl-note" });
  return {
    element: el("div", { class: "dl-layer" },
      el("h4", { text: `${layer.name}: ${layer.units} neurons, ${layer.activation}` }), grid, legend),
    cells,
    paint(z, a) {
      let top = 0;
      for (const v of a || []) top = Math.max(top, Math.abs(v));
      let active = 0;
      for (let j = 0; j < cells.length; j++) {
        cells[j].style.background = a ? lit(top > 0 ? Math.abs(a[j]) / top : 0) : "";
        cells[j].title = a ? `neuron ${j}: z = ${fixed(z[j])}, ${layer.activation}(z) = ${fixed(a[j])}` : `neuron ${j}`;
        if (a && a[j] > 0) active += 1;
      }
      legend.textContent = a ? `brightness = activation (brightest ${fixed(top, 2)}); ${active} of ${a.length} active` : "";
    },
    select(j) { cells.forEach((b, i) => b.classList.toggle("selected", i === j)); },
    mark(up, down) {
      cells.forEach((b, i) => { b.classList.toggle("push-up", up.includes(i)); b.classList.toggle("push-down", down.includes(i)); });
    },
  };
}

// Probability bars, one row per class: call paint(probs, best).
export function outputBars(names, onPick) {
  const rows = names.map((name, k) => el("button", { type: "button", class: "dl-output", "data-output": k,
    "aria-label": `output ${name}`, onclick: () => onPick && onPick(k) },
    el("span", { class: "dl-digit", text: name }), el("span", { class: "dl-bar" }, el("span")),
    el("span", { class: "dl-prob", text: "\u2013" })));
  return {
    element: el("div", { class: "dl-outputs" }, ...rows),
    rows,
    paint(probs, best) {
      rows.forEach((row, k) => {
        const p = probs ? probs[k] : null;
        row.classList.toggle("top", probs !== null && k === best);
        row.querySelector(".dl-bar span").style.width = `${Number.isFinite(p) ? (100 * p).toFixed(2) : 0}%`;
        row.querySelector(".dl-prob").textContent = percent(p);
      });
    },
    select(k) { rows.forEach((row, i) => row.classList.toggle("selected", i === k)); },
  };
}

// A 28 x 28 (or other) grey picture drawn big, crisp.
export function grayPicture(values, width, height, cls = "dl-pic") {
  const canvas = el("canvas", { class: cls });
  drawGray(canvas, Array.from(values), width, height);
  return canvas;
}
