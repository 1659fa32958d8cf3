// The Inspect panel under the network: one neuron of any hidden layer, or one output.
//
// A neuron: what drove it from the layer below (its weighted sum, input x weight for each input:
// the pixels for the first layer, the neurons of the layer below otherwise), which pixels drove it
// (its weights as a picture; for a deeper neuron, d z / d pixels, its effective weights for this
// digit), and what it pushes into the layer above (its outgoing weights, and activation x weight).
// An output: which neurons of the last hidden layer pushed it up or down, and the softmax.
// Numbers from /api/neuron and /api/output; the views are functions of (data, callbacks).

import { ApiError, post } from "./api.js";
import { diverging, drawDiverging, drawGray, fixed, flat, legend, maxAbs, percent, precise, signed } from "./colors.js";
import { brightness, colour } from "./layers.js";
import { className, el, emit, hiddenLayers, layerName, on, state, toast } from "./state.js";
import { currentDigit } from "./draw.js";
import { markNeurons, markOutput } from "./network.js";

const ORANGE = "#c2410c";   // the prediction, as in the reports (a darker orange, for text contrast)

let body, empty;
let selected = null;        // {kind: "neuron", layer, index} or {kind: "output", index}
let busy = false, again = false;

export function setup() {
  body = document.getElementById("inspect-body");
  empty = document.getElementById("inspect-empty");
  on("inspect", (what) => { selected = { layer: 0, ...what }; refresh(); });
  on("prediction", () => { if (selected) refresh(); });
  on("model", () => { selected = null; body.hidden = true; empty.hidden = false; markNeurons(); markOutput(null); });
}

async function refresh() {
  if (!state.model || !selected) return;
  if (busy) { again = true; return; }
  busy = true;
  const what = selected;
  try {
    const pixels = currentDigit();
    if (what.kind === "neuron") {
      const detail = await post("/api/neuron", { pixels, neuron: what.index, layer: what.layer });
      if (selected === what) show(neuronView(detail, context()));
    } else if (what.kind === "map") {
      const detail = await post("/api/maps/detail", { pixels, layer: what.layer, channel: what.index });
      if (selected === what) show(mapView(detail, context()));
    } else {
      const detail = await post("/api/output", { pixels, output: what.index, top: 10 });
      if (selected === what) show(outputView(detail, context()));
    }
  } catch (error) {
    // A view this model cannot show (a 409: a CNN's neurons have no weight per pixel): its reason, in its place.
    if (error instanceof ApiError && selected === what) { markNeurons(); show(unavailableView(what, error.message)); }
    else toast(error.message, "error");
  } finally {
    busy = false;
    if (again) { again = false; refresh(); }
  }
}

function show(view) {
  body.replaceChildren(...view);
  empty.hidden = true;
  body.hidden = false;
}

// What the views need from the page: the digit, the prediction, and how to move to another unit.
function context() {
  return {
    digit: currentDigit(), drawn: state.digit ? state.digit.source || "this digit" : "a blank image: draw a digit",
    prediction: state.prediction, hidden: hiddenLayers(),
    goNeuron: (layer, index) => emit("inspect", { kind: "neuron", layer, index }),
    goOutput: (index) => emit("inspect", { kind: "output", index }),
    goMap: (layer, index) => emit("inspect", { kind: "map", layer, index }),
    mark: markNeurons, markOutput,
  };
}

// ---- pieces -----------------------------------------------------------------------------------

// A small picture with a caption (plain text: one line may name the learner's file).
function picture(lines, draw, { extra = null, label } = {}) {
  const canvas = el("canvas", { width: 28, height: 28, role: "img", "aria-label": label || lines.join(" ") });
  draw(canvas);
  return el("div", { class: "pic" }, canvas, el("div", { class: "cap" }, lines[0], el("br"), lines[1] || ""), extra);
}

function scaleLegend(limit) {
  const box = el("div", { class: "scale-legend" });
  legend(box, limit || 1e-9);
  return box;
}

// n values as a small grid of cells, in the layout of the layer they belong to (cols = ceil(sqrt(n))).
function cells(values, paint) {
  const n = values.length;
  const cols = Math.max(1, Math.ceil(Math.sqrt(n)));
  const rows = Math.ceil(n / cols);
  const canvas = el("canvas", { width: cols, height: rows, class: "cells" });
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(cols, rows);
  img.data.fill(230);
  for (let i = 0; i < n; i++) {
    const [r, g, b] = paint(values[i]);
    img.data.set([r, g, b, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

// "rgb(1, 2, 3)" or "#010203" -> [1, 2, 3]
function rgb(text) {
  if (text.startsWith("#")) return [1, 3, 5].map((i) => parseInt(text.slice(i, i + 2), 16));
  return text.match(/\d+/g).slice(0, 3).map(Number);
}

function cellPicture(lines, values, paint, { extra = null, label } = {}) {
  const canvas = cells(values, paint);
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", label || lines.join(" "));
  return el("div", { class: "pic" }, canvas, el("div", { class: "cap" }, lines[0], el("br"), lines[1] || ""), extra);
}

// Lists of the strongest pushes, each a button to the unit it names; `none` says why a list is empty.
function pushList(rows, { kind, name, go, none }) {
  const limit = maxAbs(rows.map((r) => r.value)) || 1;
  return el("ol", { class: "push-list" }, ...rows.map((r) => el("li", {},
    el("button", { type: "button", text: name(r.unit), onclick: () => go(r.unit), title: r.title }),
    el("span", { class: "bar", "aria-hidden": "true" }, el("span", { style: `width:${(100 * Math.abs(r.value) / limit).toFixed(1)}%;background:var(${r.value >= 0 ? "--pos" : "--neg"})` })),
    el("span", { class: "v", text: signed(r.value, 3) }))),
    rows.length ? null : el("li", { class: "muted", text: none || (kind === "up" ? "nothing pushed it up" : "nothing pushed it down") }));
}

function equation(formula, d, activationName) {
  return el("div", { class: "equation" },
    el("div", {}, "weighted sum ", el("code", { text: formula })),
    el("dl", { class: "kv" },
      el("dt", { text: "bias" }), el("dd", { text: fixed(d.bias, 4) }),
      el("dt", { text: "z" }), el("dd", { text: fixed(d.z, 4) }),
      el("dt", { text: `${activationName}(z)` }), el("dd", { class: "big", text: fixed(d.activation, 4) })),
    el("p", { class: "muted small state", "data-testid": "neuron-state", text: d.state }));
}

// ---- one neuron ---------------------------------------------------------------------------------

export function neuronView(d, ctx) {
  const k = d.layer_index;
  const hidden = ctx.hidden;
  const here = hidden[k] || { units: d.outgoing.length, activation: d.activation_name };
  const incoming = d.incoming;
  const up = incoming.top_up.map((r) => r.neuron), down = incoming.top_down.map((r) => r.neuron);
  const pushes = d.pushes.map((v, j) => [v, j]);
  const pushUp = pushes.filter(([v]) => v > 0).sort((a, b) => b[0] - a[0]).slice(0, 8);
  const pushDown = pushes.filter(([v]) => v < 0).sort((a, b) => a[0] - b[0]).slice(0, 8);
  const marks = { [k]: { selected: d.neuron } };
  if (k > 0) marks[k - 1] = { up, down };
  if (!d.next_is_output) marks[k + 1] = { up: pushUp.map(([, j]) => j), down: pushDown.map(([, j]) => j) };
  ctx.mark(marks);
  ctx.markOutput(null);

  const nav = (delta) => {
    const j = d.neuron + delta;
    const shown = `neuron ${Math.max(0, Math.min(here.units - 1, j))}`;
    return el("button", { type: "button", class: "btn ghost small-btn", disabled: j < 0 || j >= here.units,
      "data-testid": delta < 0 ? "previous-neuron" : "next-neuron", title: delta < 0 ? "the previous neuron" : "the next neuron",
      onclick: () => ctx.goNeuron(k, j) },
      delta < 0 ? el("span", { "aria-hidden": "true", text: "\u25c0 " }) : null, shown,
      delta > 0 ? el("span", { "aria-hidden": "true", text: " \u25b6" }) : null);
  };
  const head = el("div", { class: "inspect-head" },
    el("h2", { text: `Neuron ${d.neuron} of ${layerName(k)}` }),
    el("span", { class: "muted small", text: k === 0 ? "784 incoming weights, one per pixel"
      : `${incoming.activations.length} incoming weights, one per neuron of ${layerName(k - 1, { long: false })}` }),
    el("span", { class: "grow" }), nav(-1), nav(+1));

  // 1. what drove it from below
  const drove = [];
  if (k === 0) {
    const weights = flat(d.weights), contributions = flat(d.pixel_contributions);
    drove.push(
      picture(["its 784 weights", "(what it looks for)"], (c) => drawDiverging(c, weights, 28, 28, d.limits.weights),
        { extra: scaleLegend(d.limits.weights) }),
      el("span", { class: "op", text: "\u00d7", "aria-hidden": "true" }),
      picture(["the digit", `(${ctx.drawn})`], (c) => drawGray(c, ctx.digit)),
      el("span", { class: "op", text: "=", "aria-hidden": "true" }),
      picture(["pixel \u00d7 weight", "(which pixels drove it)"], (c) => drawDiverging(c, contributions, 28, 28, d.limits.pixel_contributions || 1),
        { extra: scaleLegend(d.limits.pixel_contributions) }),
      equation("z = \u03a3 pixel \u00d7 weight + bias", d, d.activation_name));
  } else {
    const below = hidden[k - 1];
    const wLimit = maxAbs(incoming.weights) || 1;
    const { scale } = brightness(incoming.activations, below.activation);
    drove.push(
      cellPicture([`its ${incoming.weights.length} weights`, `from ${layerName(k - 1, { long: false })}`], incoming.weights,
        (v) => diverging(v, wLimit), { extra: scaleLegend(wLimit) }),
      el("span", { class: "op", text: "\u00d7", "aria-hidden": "true" }),
      cellPicture([`what ${layerName(k - 1, { long: false })} passes on`, `(${below.activation} outputs)`], incoming.activations,
        (v) => rgb(colour(v, scale))),
      el("span", { class: "op", text: "=", "aria-hidden": "true" }),
      cellPicture(["activation \u00d7 weight", "(which neurons below drove it)"], incoming.contributions,
        (v) => diverging(v, d.limits.incoming), { extra: scaleLegend(d.limits.incoming) }),
      equation("z = \u03a3 activation \u00d7 weight + bias", d, d.activation_name));
  }
  const sections = [head,
    el("h3", { class: "section-title", text: k === 0 ? "What drove it: the pixels" : `What drove it: the neurons of ${layerName(k - 1, { long: false })}` }),
    el("div", { class: "inspect-cols" }, ...drove)];
  if (k > 0) {
    const name = (j) => `neuron ${j}`;
    const go = (j) => ctx.goNeuron(k - 1, j);
    const rows = (list) => list.map((r) => ({ unit: r.neuron, value: r.contribution,
      title: `activation ${fixed(r.activation)} \u00d7 weight ${fixed(r.weight)}` }));
    sections.push(el("div", { class: "push-lists" },
      el("div", {}, el("h3", {}, el("span", { class: "pos", text: "Pushed it up" }), " (activation \u00d7 weight)"), pushList(rows(incoming.top_up), { kind: "up", name, go })),
      el("div", {}, el("h3", {}, el("span", { class: "neg", text: "Pushed it down" })), pushList(rows(incoming.top_down), { kind: "down", name, go }))));

    // 2. which pixels drove it, through the layers below
    const weights = flat(d.weights), contributions = flat(d.pixel_contributions);
    sections.push(el("h3", { class: "section-title", text: "Which pixels drove it, through the layers below" }),
      el("div", { class: "inspect-cols" },
        picture(["d z / d pixel", "(its effective weights, for this digit)"], (c) => drawDiverging(c, weights, 28, 28, d.limits.weights),
          { extra: scaleLegend(d.limits.weights) }),
        el("span", { class: "op", text: "\u00d7", "aria-hidden": "true" }),
        picture(["the digit", `(${ctx.drawn})`], (c) => drawGray(c, ctx.digit)),
        el("span", { class: "op", text: "=", "aria-hidden": "true" }),
        picture(["pixel \u00d7 d z / d pixel", "(each inked pixel's push)"], (c) => drawDiverging(c, contributions, 28, 28, d.limits.pixel_contributions || 1),
          { extra: scaleLegend(d.limits.pixel_contributions) }),
        el("p", { class: "muted small explain", "data-testid": "pixels-explained", text:
          `This neuron does not see the pixels: it sees ${layerName(k - 1, { long: false })}. The first picture traces it back: ` +
          "how much its z would rise (blue) or fall (red) for a little more ink at each pixel, with the neurons below as they " +
          "are for this digit. " + (d.weights_exact
            ? `The layers below use relu, so this is exact near this digit: z = \u03a3 pixel \u00d7 effective weight + ${fixed(d.pixel_rest, 3)} (what the biases pass on).`
            : `Through ${[...new Set(hidden.slice(0, k).map((h) => h.activation))].join(" and ")} it is the tangent: right for small changes of ink. ` +
              `\u03a3 pixel \u00d7 effective weight = ${fixed(d.z - d.pixel_rest, 3)}; the other ${fixed(d.pixel_rest, 3)} of z comes from the biases and the curves.`) })));
  }

  // 3. what it pushes above
  const next = d.next_is_output ? "the outputs" : layerName(k + 1, { long: false });
  const silent = d.activation === 0 ? "nothing: its output is 0, so every activation \u00d7 weight is 0" : null;
  const pushRows = (list) => list.map(([v, j]) => ({ unit: j, value: v, title: `activation ${fixed(d.activation)} \u00d7 weight ${fixed(d.outgoing[j])}` }));
  const name = d.next_is_output ? (j) => `output ${className(j)}` : (j) => `neuron ${j}`;
  const go = d.next_is_output ? (j) => ctx.goOutput(j) : (j) => ctx.goNeuron(k + 1, j);
  let weightsView;
  if (d.next_is_output) {
    const limit = d.limits.outgoing || 1;
    const predicted = ctx.prediction ? ctx.prediction.prediction : null;
    weightsView = el("div", { class: "outgoing", role: "img", "aria-label": `its weights to the outputs: ${d.outgoing.map((w, j) => `${className(j)} ${fixed(w, 3)}`).join(", ")}` },
      ...d.outgoing.map((w, j) => {
        const h = Math.abs(w) / limit * 30;     // bars up from the middle line if positive, down if negative
        return el("div", { class: "col", title: `to output ${className(j)}: weight ${fixed(w, 4)}` },
          el("span", { class: "half up" }, w > 0 ? el("span", { class: "b pos-b", style: `height:${h.toFixed(1)}px` }) : null),
          el("span", { class: "half down" }, w < 0 ? el("span", { class: "b neg-b", style: `height:${h.toFixed(1)}px` }) : null),
          el("span", { class: "lbl", text: className(j), style: j === predicted ? `color:${ORANGE};font-weight:700` : null }));
      }));
  } else {
    const limit = d.limits.outgoing || 1;
    weightsView = cellPicture([`its ${d.outgoing.length} weights`, `to ${next}`], d.outgoing, (v) => diverging(v, limit),
      { extra: scaleLegend(limit) });
  }
  sections.push(el("h3", { class: "section-title", text: `What it pushes into ${next}` }),
    el("div", { class: "inspect-cols" },
      el("div", { class: "outgoing-box", "data-testid": "outgoing" },
        el("h4", { text: d.next_is_output ? "its weights to the outputs" : `its weights to the ${d.outgoing.length} neurons of ${next}` }),
        weightsView,
        el("p", { class: "muted small", text: d.next_is_output
          ? "up (blue): it votes for that output; down (red): against it. The orange label is the prediction."
          : "blue: it pushes that neuron up; red: down (when its own output is positive)" })),
      el("div", { class: "push-lists" },
        el("div", {}, el("h3", {}, el("span", { class: "pos", text: "It pushes up" }), " (its activation \u00d7 weight)"),
          pushList(pushRows(pushUp), { kind: "up", name, go, none: silent || "it pushes nothing up" })),
        el("div", {}, el("h3", {}, el("span", { class: "neg", text: "It pushes down" })),
          pushList(pushRows(pushDown), { kind: "down", name, go, none: silent || "it pushes nothing down" })))));
  return sections;
}

// ---- one output ---------------------------------------------------------------------------------

export function outputView(d, ctx) {
  const k = d.from_layer;
  const marks = {};
  if (k !== null && k !== undefined) marks[k] = { up: d.top_up.map((r) => r.neuron), down: d.top_down.map((r) => r.neuron) };
  ctx.mark(marks);
  ctx.markOutput(d.output);
  const name = (j) => `neuron ${j}`;
  const go = (j) => ctx.goNeuron(k, j);
  const rows = (list) => list.map((r) => ({ unit: r.neuron, value: r.contribution,
    title: `activation ${fixed(r.activation)} \u00d7 weight ${fixed(r.weight)}` }));

  const p = ctx.prediction;
  let softmax = null;
  if (p && p.softmax) {
    const s = p.softmax;
    softmax = el("div", { class: "table-scroll", tabindex: 0, role: "region", "aria-label": "the softmax, step by step" }, el("table", { class: "softmax-table" },
      el("caption", { class: "visually-hidden", text: "the softmax, step by step" }),
      el("tr", {}, ...["output", "z", "z \u2212 max", "exp", "\u00f7 sum = p"].map((h) => el("th", { scope: "col", text: h }))),
      ...s.z.map((z, j) => el("tr", { class: j === d.output ? "sel" : "" },
        el("td", { text: className(j) }), el("td", { text: fixed(z, 2) }), el("td", { text: fixed(s.z_minus_max[j], 2) }),
        el("td", { text: precise(s.exp[j]) }), el("td", { text: percent(s.probs[j], 2) }))),
      el("tr", {}, el("td", { text: "sum" }), el("td"), el("td"), el("td", { text: precise(s.sum, 4) }), el("td", { text: "100%" }))));
  }
  const source = k === null || k === undefined ? "the pixels" : `the ${d.activations.length} neurons of ${layerName(k)}`;
  return [
    el("div", { class: "inspect-head" },
      el("h2", { text: `Output ${className(d.output)}` }),
      el("span", { class: "muted small" }, "its score ", el("code", { text: "z = bias + \u03a3 activation \u00d7 weight" }),
        ` = ${fixed(d.z, 3)} (bias ${fixed(d.bias, 3)}), over ${source}`)),
    el("div", { class: "inspect-cols" },
      el("div", { class: "push-lists" },
        el("div", {}, el("h3", {}, el("span", { class: "pos", text: "Pushed it up" }), " (activation \u00d7 weight)"), pushList(rows(d.top_up), { kind: "up", name, go })),
        el("div", {}, el("h3", {}, el("span", { class: "neg", text: "Pushed it down" })), pushList(rows(d.top_down), { kind: "down", name, go }))),
      softmax ? el("div", {}, el("h3", { text: "softmax, step by step" }), softmax) : null)];
}

// ---- a view this model cannot show ----------------------------------------------------------------

function unavailableView(what, reason) {
  const title = what.kind === "neuron" ? `Neuron ${what.index} of ${layerName(what.layer)}`
    : what.kind === "map" ? `Map ${what.index}` : `Output ${className(what.index)}`;
  return [el("div", { class: "inspect-head" }, el("h2", { text: title })),
    el("p", { class: "unavailable", "data-testid": "inspect-unavailable", text: reason })];
}

// ---- one feature map or pooled map (a convolutional network) ------------------------------------

// A map (H x W values) drawn big, one canvas cell per value, with its strongest value ringed.
function bigMap(values, height, width, { argmax = null, label }) {
  const scale = Math.max(1, Math.floor(208 / Math.max(height, width)));
  const canvas = el("canvas", { class: "map-big", width: width * scale, height: height * scale, role: "img", "aria-label": label });
  const ctx = canvas.getContext("2d");
  const data = flat(values);
  const low = Math.min(...data), top = maxAbs(data) || 1e-9;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const v = data[r * width + c];
      if (low < 0) { const [R, G, B] = diverging(v, top); ctx.fillStyle = `rgb(${R},${G},${B})`; }
      else { const g = Math.round(255 * Math.max(0, v) / top); ctx.fillStyle = `rgb(${g},${g},${g})`; }
      ctx.fillRect(c * scale, r * scale, scale, scale);
    }
  }
  if (argmax) {
    ctx.strokeStyle = ORANGE;
    ctx.lineWidth = Math.max(2, scale / 3);
    ctx.strokeRect(argmax[1] * scale - 1, argmax[0] * scale - 1, scale + 2, scale + 2);
  }
  return canvas;
}

// One input channel's slice of a kernel: a tiny picture and its numbers.
function kernelSlice(slice, limit, caption) {
  const [kh, kw] = [slice.length, slice[0].length];
  const canvas = el("canvas", { width: kw, height: kh, role: "img",
    "aria-label": `${caption}: ${slice.map((row) => row.map((v) => fixed(v, 2)).join(", ")).join("; ")}` });
  drawDiverging(canvas, flat(slice), kw, kh, limit);
  const table = el("table", { class: "kernel-table", "data-testid": "kernel-numbers" },
    el("caption", { class: "visually-hidden", text: caption }),
    ...slice.map((row) => el("tr", {}, ...row.map((v) => el("td", { text: fixed(v, 3), style: `color:var(${v >= 0 ? "--pos" : "--neg"})` })))));
  return el("div", { class: "kernel-box" }, canvas, table, el("div", { class: "muted small", text: caption }));
}

const MAX_SLICES = 16;

export function mapView(d, ctx) {
  const one = d.maps.replace(/s$/, "");
  const [height, width] = [d.map.length, d.map[0].length];
  const nav = (delta) => {
    const j = d.channel + delta;
    return el("button", { type: "button", class: "btn ghost small-btn", disabled: j < 0 || j >= d.channels,
      "data-testid": delta < 0 ? "previous-map" : "next-map", onclick: () => ctx.goMap(d.position, j),
      title: delta < 0 ? `the previous ${one}` : `the next ${one}` },
      delta < 0 ? el("span", { "aria-hidden": "true", text: "\u25c0 " }) : null, `${one} ${Math.max(0, Math.min(d.channels - 1, j))}`,
      delta > 0 ? el("span", { "aria-hidden": "true", text: " \u25b6" }) : null);
  };
  ctx.mark();
  ctx.markOutput(null);
  const title = d.kernel ? `Filter ${d.channel} of ${d.name}` : `${one[0].toUpperCase()}${one.slice(1)} ${d.channel} of ${d.name}`;
  const sections = [el("div", { class: "inspect-head" }, el("h2", { text: title }),
    el("span", { class: "muted small", text: d.label }), el("span", { class: "grow" }), nav(-1), nav(+1)),
    el("p", { class: "muted small", text: `${d.name} ${d.what}.` })];
  const strongest = `strongest ${fixed(d.max, 3)} at row ${d.argmax[0]}, column ${d.argmax[1]}`;
  const mapPicture = el("div", { class: "pic map-pic", "data-testid": "map-enlarged" },
    bigMap(d.map, height, width, { argmax: d.argmax, label: `${one} ${d.channel} of ${d.name}, ${height} by ${width}: ${strongest}` }),
    el("div", { class: "cap" }, `its ${one}, ${height}\u00d7${width}`, el("br"), `${strongest} (ringed); lowest ${fixed(d.min, 3)}`));
  if (d.kernel) {
    const [kh, kw, cin] = [d.kernel.length, d.kernel[0].length, d.kernel[0][0].length];
    const limit = maxAbs(flat(d.kernel)) || 1e-9;
    const slices = [];
    for (let c = 0; c < Math.min(cin, MAX_SLICES); c++) {
      const slice = d.kernel.map((row) => row.map((cell) => cell[c]));
      slices.push(kernelSlice(slice, limit, cin === 1 ? "its weights" : `on ${d.input_name}'s map ${c}`));
    }
    const input = d.input_name === "the image" || cin === 1 ? "the image's pixels" : `the ${cin} maps of ${d.input_name}`;
    // The sum at the strongest position, worked by hand: the window under the kernel, times the kernel
    let worked = null;
    if (d.window && cin === 1) {
      const table = (rows, caption, colour) => el("table", { class: "kernel-table", "data-testid": `worked-${caption.split(" ")[0]}` },
        el("caption", { class: "visually-hidden", text: caption }),
        ...rows.map((row) => el("tr", {}, ...row.map((v) => el("td", { text: fixed(v, 3), style: colour ? `color:var(${v >= 0 ? "--pos" : "--neg"})` : null })))));
      const pixels = d.window.map((row) => row.map((cell) => cell[0]));
      const products = pixels.map((row, i) => row.map((v, j) => v * d.kernel[i][j][0]));
      const sum = products.flat().reduce((a, b) => a + b, 0);
      worked = el("div", { class: "inspect-cols worked", "data-testid": "worked-sum" },
        el("div", { class: "kernel-box" }, table(pixels, "window: the pixels under the kernel", false),
          el("div", { class: "muted small", text: `the pixels at row ${d.argmax[0]}, column ${d.argmax[1]} (0 to 1)` })),
        el("span", { class: "muted small", text: "\u00d7 kernel =", "aria-hidden": "true" }),
        el("div", { class: "kernel-box" }, table(products, "products: pixel times weight", true),
          el("div", { class: "muted small", text: "pixel \u00d7 weight" })),
        el("p", { class: "small", text: `\u03a3 pixel \u00d7 weight = ${fixed(sum, 4)}; + bias ${fixed(d.bias, 4)} = z = ${fixed(d.weighted_sum, 4)}; ` +
          `${d.activation}(z) = ${fixed(d.max, 4)}, the map's strongest value.` }));
    } else if (d.window) {
      worked = el("p", { class: "small", "data-testid": "worked-sum", text: `At row ${d.argmax[0]}, column ${d.argmax[1]}: the ` +
        `${kh}\u00d7${kw} window of each of the ${cin} input maps times that map's slice of the kernel, all summed, + bias = ` +
        `z = ${fixed(d.weighted_sum, 4)}; ${d.activation}(z) = ${fixed(d.max, 4)}.` });
    }
    sections.push(el("h3", { class: "section-title", text: `Its kernel: ${kh}\u00d7${kw}${cin > 1 ? `\u00d7${cin}` : ""} weights slid over ${input}` }),
      el("div", { class: "inspect-cols", "data-testid": "kernel" }, ...slices,
        cin > MAX_SLICES ? el("p", { class: "muted small", text: `and ${cin - MAX_SLICES} more input channels` }) : null,
        el("div", { class: "equation" },
          el("div", {}, "each value of the map ", el("code", { text: `a = ${d.activation}(window \u00b7 kernel + bias)` })),
          el("dl", { class: "kv" },
            el("dt", { text: "bias" }), el("dd", { text: fixed(d.bias, 4) }),
            d.weighted_sum !== null ? el("dt", { text: `z at row ${d.argmax[0]}, column ${d.argmax[1]}` }) : null,
            d.weighted_sum !== null ? el("dd", { text: fixed(d.weighted_sum, 4) }) : null,
            el("dt", { text: "strongest a" }), el("dd", { class: "big", text: fixed(d.max, 4) })),
          el("p", { class: "muted small", text: "blue weights: ink there makes it fire more; red: ink there holds it back. " +
            `The window is the ${kh}\u00d7${kw} patch under the kernel at each position, stepping ${d.stride.join("\u00d7")}.` }))),
      el("h3", { class: "section-title", text: "What it finds in your digit" }),
      el("div", { class: "inspect-cols" }, mapPicture, worked));
  } else {
    const parts = [];
    if (d.input_map) {
      const [ih, iw] = [d.input_map.length, d.input_map[0].length];
      parts.push(el("div", { class: "pic map-pic" }, bigMap(d.input_map, ih, iw, { label: `${d.input_name}'s map ${d.channel}, ${ih} by ${iw}` }),
        el("div", { class: "cap" }, `${d.input_name}'s map ${d.channel}`, el("br"), `${ih}\u00d7${iw}: what it ${d.maps === "pooled maps" ? "pooled" : "received"}`)),
      el("span", { class: "op", text: "\u2192", "aria-hidden": "true" }));
    }
    parts.push(mapPicture);
    sections.push(el("h3", { class: "section-title", text: `What ${d.name} makes of it: no weights of its own` }),
      el("div", { class: "inspect-cols" }, ...parts));
  }
  return sections;
}
