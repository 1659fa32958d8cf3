// The drawing pad widget (digitlens.notebook.draw): the board, the preparation, the flatten strip,
// every hidden layer's neurons, the outputs, and the inspector for a neuron or an output. Every
// number drawn here was computed in Python by digitlens.explain (notebook/payloads.py).

import { drawDiverging, drawGray, fixed, flat, legend, maxAbs, percent, precise, setColors, signed } from "../../web/static/js/colors.js";
import { el } from "../../web/static/js/state.js";
import { CANVAS, createBoard } from "./board.js";
import { bytes, floats, grayPicture, neuronGrid, outputBars, widgetRoot } from "./view.js";

const MIN_INTERVAL = 50;      // ms between two boards sent while drawing: up to 20 a second
const PATIENCE = 3000;        // ms after which an unanswered board no longer holds the next one back
const KEPT = 500;             // round-trip times kept for the tests' measurement

function render({ model, el: host }) {
  const setup = model.get("setup");
  setColors(setup.colors);
  const names = setup.class_names;
  const dense = setup.layers;
  const hiddenLayers = dense.slice(0, -1);
  const root = widgetRoot("dl-pad");
  root.dataset.predicting = "false";
  root.dataset.updates = "0";

  // ---- the board -------------------------------------------------------------------------------
  const canvas = el("canvas", { class: "dl-board", width: CANVAS, height: CANVAS, "aria-label": "drawing board: draw a digit" });
  const hint = el("div", { class: "dl-hint", text: "draw a digit here" });
  const status = el("div", { class: "dl-status", role: "status" });
  let seq = 0, answered = 0, inFlight = false, pending = false, lastSent = 0, waiting = null;
  const sentAt = new Map();
  const latencies = [];

  const board = createBoard(canvas, {
    onStart: () => { hint.hidden = true; },
    onChange: (force) => request(force),
  });

  function busy() { root.dataset.predicting = String(inFlight || pending); }

  function request(force = false) {
    if (inFlight && performance.now() - lastSent < PATIENCE) { pending = true; busy(); return; }
    const wait = lastSent + MIN_INTERVAL - performance.now();
    if (wait > 0 && !force) {
      pending = true;
      busy();
      clearTimeout(waiting);
      waiting = setTimeout(() => { if (pending && !inFlight) { pending = false; request(true); } }, wait);
      return;
    }
    pending = false;
    const change = board.changes();
    if (change) {
      seq += 1;
      inFlight = true;
      lastSent = performance.now();
      sentAt.set(seq, lastSent);
      model.send({ type: "board", seq, x: change.x, y: change.y, w: change.w, h: change.h }, undefined, [change.bytes.buffer]);
    }
    busy();
  }

  const clearButton = el("button", { type: "button", class: "dl-button", text: "Clear", onclick: () => {
    board.clear();
    hint.hidden = false;
    seq += 1;
    sentAt.set(seq, performance.now());
    inFlight = true;
    busy();
    model.send({ type: "clear", seq });
  } });

  // ---- the preparation, the prediction and the outputs ----------------------------------------
  const cropped = el("canvas", { class: "dl-pic dl-step" });
  const scaled = el("canvas", { class: "dl-pic dl-step" });
  const final = el("canvas", { class: "dl-pic dl-final", "data-testid": "prepared" });
  const big = el("div", { class: "dl-big", text: "?" });
  const sure = el("div", { class: "dl-note", text: "draw a digit" });
  const outputs = outputBars(names, (k) => inspect(dense.length - 1, k));

  // ---- the flatten strip -----------------------------------------------------------------------
  const strip = el("canvas", { class: "dl-strip", height: 28 });
  const stripInfo = el("div", { class: "dl-note", text: "row 0 is inputs 0\u201327, row 1 is inputs 28\u201355, \u2026 Hover to find a pixel." });

  // ---- the hidden layers -----------------------------------------------------------------------
  const grids = hiddenLayers.map((layer) => neuronGrid(layer, inspect));

  // ---- the inspector ---------------------------------------------------------------------------
  const inspector = el("div", { class: "dl-inspect", hidden: true });
  let looking = null;        // [layer, unit]

  root.append(
    el("div", { class: "dl-row" },
      el("div", { class: "dl-col" }, canvas, hint, el("div", { class: "dl-tools" }, clearButton, status)),
      el("div", { class: "dl-col dl-prep" },
        el("h4", { text: "prepared the MNIST way" }),
        el("div", { class: "dl-steps" },
          el("figure", {}, cropped, el("figcaption", { text: "cropped to the ink" })),
          el("figure", {}, scaled, el("figcaption", { text: "scaled into 20 \u00d7 20" })),
          el("figure", {}, final, el("figcaption", { text: "28 \u00d7 28, centred by mass" }))),
        el("div", { class: "dl-answer" }, big, sure)),
      el("div", { class: "dl-col" }, el("h4", { text: `outputs (${dense[dense.length - 1].activation})` }), outputs.element)),
    el("div", { class: "dl-flatten" }, el("h4", { text: "flatten: the 784 inputs, row after row" }), strip, stripInfo),
    el("div", { class: "dl-row dl-hidden" }, ...grids.map((g) => g.element)),
    inspector);
  host.appendChild(root);

  // ---- drawing what Python sent ------------------------------------------------------------------
  let shown = null;           // {result, strip, layers}

  function showResult() {
    const result = model.get("result") || {};
    if (result.seq !== undefined && result.seq >= answered) {
      answered = result.seq;
      if (sentAt.has(result.seq)) {
        latencies.push(performance.now() - sentAt.get(result.seq));
        if (latencies.length > KEPT) latencies.shift();
        for (const key of sentAt.keys()) if (key <= result.seq) sentAt.delete(key);
        root.dataset.updates = String(Number(root.dataset.updates) + 1);
        root.dataset.latencies = latencies.map((v) => v.toFixed(1)).join(",");
      }
      if (result.seq >= seq) inFlight = false;
    }
    if (!result.seq && !result.empty && result.prediction === undefined) return;
    if (result.empty || result.prediction === undefined) {
      shown = null;
      big.textContent = "?";
      sure.textContent = "draw a digit";
      outputs.paint(null, -1);
      for (const g of grids) g.paint(null, null);
      drawGray(final, new Array(784).fill(0));
      for (const c of [cropped, scaled]) { c.width = c.height = 1; }
      drawStrip(null);
    } else {
      const pixels = bytes(model.get("strip"));
      const values = floats(model.get("layers"));
      shown = { result, pixels, values };
      drawGray(final, Array.from(pixels), result.width, result.height);
      const steps = bytes(model.get("steps"));
      if (result.steps) {
        const [ch, cw] = result.steps.cropped, [sh, sw] = result.steps.scaled;
        drawGray(cropped, Array.from(steps.subarray(0, ch * cw)), cw, ch);
        drawGray(scaled, Array.from(steps.subarray(ch * cw, ch * cw + sh * sw)), sw, sh);
      } else {
        for (const c of [cropped, scaled]) { c.width = c.height = 1; }
      }
      drawStrip(pixels, result.starts);
      let offset = 0;
      result.layers.forEach((layer, k) => {
        const z = values.subarray(offset, offset + layer.units);
        const a = values.subarray(offset + layer.units, offset + 2 * layer.units);
        offset += 2 * layer.units;
        if (k < grids.length) grids[k].paint(z, a);
      });
      const best = result.prediction;
      outputs.paint(result.probabilities, best);
      big.textContent = names[best];
      sure.replaceChildren(el("b", { text: percent(result.probabilities[best]) }), ` sure it is ${names[best]}`);
      root.dataset.prediction = String(best);
      hint.hidden = true;
    }
    if (result.empty) delete root.dataset.prediction;
    root.dataset.seq = String(answered);
    status.textContent = result.ms !== undefined ? `answered in ${result.ms} ms by the kernel` : "";
    if (pending && !inFlight) request(true);
    busy();
  }

  function drawStrip(pixels, starts) {
    const width = Math.max(784, Math.round((strip.clientWidth || 784) * (window.devicePixelRatio || 1)));
    strip.width = width;
    strip.height = 28;
    const ctx = strip.getContext("2d");
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, width, 28);
    if (!pixels) return;
    const n = pixels.length;
    for (let i = 0; i < n; i++) {
      const v = pixels[i];
      if (!v) continue;
      const x0 = Math.floor(i * width / n), x1 = Math.floor((i + 1) * width / n);
      ctx.fillStyle = `rgb(${v},${v},${v})`;
      ctx.fillRect(x0, 0, Math.max(1, x1 - x0), 28);
    }
    ctx.fillStyle = "rgba(99, 102, 241, .75)";
    for (const start of starts) ctx.fillRect(Math.floor(start * width / n), 22, 1, 6);
  }

  strip.addEventListener("mousemove", (event) => {
    if (!shown) return;
    const rect = strip.getBoundingClientRect();
    const n = shown.pixels.length, w = shown.result.width;
    const i = Math.min(n - 1, Math.max(0, Math.floor((event.clientX - rect.left) / rect.width * n)));
    const row = Math.floor(i / w), col = i - row * w;
    stripInfo.replaceChildren("input ", el("b", { text: String(i) }), ` is pixel (row ${row}, column ${col}) = ${w} \u00d7 ${row} + ${col}; value ${shown.pixels[i]} of 255`);
  });

  // ---- the inspector ----------------------------------------------------------------------------
  function inspect(layer, unit) {
    looking = [layer, unit];
    model.send({ type: "inspect", layer, unit });
  }

  function close() {
    looking = null;
    model.send({ type: "close" });
  }

  function markSelection(d) {
    grids.forEach((g, k) => { g.select(d && d.layer === k ? d.unit : null); g.mark([], []); });
    outputs.select(d && d.output ? d.unit : null);
    if (d && d.kind === "pushes" && d.layer - 1 < grids.length) {
      grids[d.layer - 1].mark(d.top_up.map((r) => r.neuron), d.top_down.map((r) => r.neuron));
    }
  }

  function unitName(d) {
    return d.output ? `Output ${names[d.unit]}` : `Neuron ${d.unit} of ${d.layer_name}`;
  }

  function showInspection() {
    const d = model.get("inspected");
    if (!d || d.unit === undefined) { inspector.hidden = true; markSelection(null); return; }
    markSelection(d);
    const head = el("div", { class: "dl-inspect-head" }, el("h4", { text: unitName(d) }),
      el("button", { type: "button", class: "dl-button", text: "Close", onclick: close }));
    inspector.replaceChildren(head, d.kind === "pixels" ? pixelsView(d) : pushesView(d));
    inspector.hidden = false;
  }

  function picture(lines, draw, extra) {
    const c = el("canvas", { class: "dl-pic" });
    draw(c);
    return el("figure", {}, c, el("figcaption", {}, lines[0], el("br"), lines[1]), extra || null);
  }

  function pixelsView(d) {
    const data = floats(model.get("inspected_data"));
    const weights = data.subarray(0, 784), contributions = data.subarray(784, 1568);
    const wLegend = el("div", { class: "dl-legend" }), cLegend = el("div", { class: "dl-legend" });
    legend(wLegend, d.limits.weights);
    legend(cLegend, d.limits.pixel_contributions || 1e-9);
    const digit = shown ? shown.pixels : new Uint8Array(784);
    const outgoing = d.outgoing.length ? outgoingBars(d) : null;
    return el("div", { class: "dl-row" },
      picture(["its 784 weights", "(what it looks for)"], (c) => drawDiverging(c, weights, 28, 28, d.limits.weights), wLegend),
      el("span", { class: "dl-op", text: "\u00d7" }),
      picture(["the digit", "(its 784 inputs)"], (c) => drawGray(c, Array.from(digit))),
      el("span", { class: "dl-op", text: "=" }),
      picture(["pixel \u00d7 weight", "(which pixels drove it)"], (c) => drawDiverging(c, contributions, 28, 28, d.limits.pixel_contributions || 1), cLegend),
      el("div", { class: "dl-equation" },
        el("div", {}, el("code", { text: "z = \u03a3 pixel \u00d7 weight + bias" })),
        el("dl", {}, el("dt", { text: "bias" }), el("dd", { text: fixed(d.bias, 4) }),
          el("dt", { text: "z" }), el("dd", { text: fixed(d.z, 4) }),
          el("dt", { text: `${d.activation_name}(z)` }), el("dd", { class: "dl-strong", text: fixed(d.activation, 4) })),
        el("p", { class: "dl-note", text: d.activation > 0 ? "It fires: blue weights under the ink outweighed the red ones."
          : "It stays silent: its weighted sum is not positive for this digit." })),
      outgoing);
  }

  function outgoingBars(d) {
    const limit = maxAbs(d.outgoing) || 1;
    const toOutputs = d.layer + 1 === dense.length - 1;
    const cols = d.outgoing.map((w, k) => el("div", { class: "dl-col-bar", title: `to ${toOutputs ? "output " + names[k] : d.next_layer + " neuron " + k}: weight ${fixed(w, 4)}` },
      el("span", { class: "dl-half up" }, w > 0 ? el("span", { class: "dl-b pos", style: `height:${(Math.abs(w) / limit * 30).toFixed(1)}px` }) : null),
      el("span", { class: "dl-half down" }, w < 0 ? el("span", { class: "dl-b neg", style: `height:${(Math.abs(w) / limit * 30).toFixed(1)}px` }) : null),
      toOutputs ? el("span", { class: "dl-lbl", text: names[k] }) : null));
    return el("div", { class: "dl-outgoing-box" }, el("h5", { text: `its weights to ${d.next_layer}` }),
      el("div", { class: "dl-outgoing" }, ...cols),
      el("p", { class: "dl-note", text: "up (blue): it pushes that unit up; down (red): it holds it back" }));
  }

  function pushesView(d) {
    const limit = Math.max(maxAbs(d.top_up.map((r) => r.contribution)), maxAbs(d.top_down.map((r) => r.contribution))) || 1;
    const list = (rows, word) => el("ol", { class: "dl-push-list" }, ...rows.map((r) => el("li", {},
      el("button", { type: "button", class: "dl-link", text: `neuron ${r.neuron}`, onclick: () => inspect(d.layer - 1, r.neuron),
        title: `activation ${fixed(r.activation)} \u00d7 weight ${fixed(r.weight)}` }),
      el("span", { class: "dl-bar" }, el("span", { class: r.contribution >= 0 ? "pos" : "neg", style: `width:${(100 * Math.abs(r.contribution) / limit).toFixed(1)}%` })),
      el("span", { class: "dl-v", text: signed(r.contribution, 3) }))),
      rows.length ? null : el("li", { class: "dl-note", text: `no neuron pushed it ${word}` }));
    let softmax = null;
    if (d.softmax) {
      const s = d.softmax;
      softmax = el("table", { class: "dl-softmax" },
        el("tr", {}, ...["output", "z", "z \u2212 max", "exp", "\u00f7 sum = p"].map((h) => el("th", { text: h }))),
        ...s.z.map((z, k) => el("tr", { class: k === d.unit ? "sel" : "" },
          el("td", { text: names[k] }), el("td", { text: fixed(z, 2) }), el("td", { text: fixed(s.z_minus_max[k], 2) }),
          el("td", { text: precise(s.exp[k]) }), el("td", { text: percent(s.probs[k], 2) }))),
        el("tr", {}, el("td", { text: "sum" }), el("td"), el("td"), el("td", { text: precise(s.sum, 4) }), el("td", { text: "100%" })));
    }
    return el("div", {},
      el("p", { class: "dl-note" }, "its score ", el("code", { text: "z = bias + \u03a3 activation \u00d7 weight" }),
        ` = ${fixed(d.z, 3)} (bias ${fixed(d.bias, 3)}), over the ${d.inputs} neurons of ${d.inputs_from}; `,
        `${d.activation_name}(z) = ${fixed(d.activation, 4)}`),
      el("div", { class: "dl-row" },
        el("div", {}, el("h5", { class: "pos", text: "pushed it up (activation \u00d7 weight)" }), list(d.top_up, "up")),
        el("div", {}, el("h5", { class: "neg", text: "pushed it down" }), list(d.top_down, "down")),
        softmax ? el("div", {}, el("h5", { text: "softmax, step by step" }), softmax) : null));
  }

  // ---- boards from Python, messages, start --------------------------------------------------------
  function loadBoard() {
    const data = bytes(model.get("board_loaded"));
    if (data.length < 4) return;
    board.load(data.subarray(4));
    hint.hidden = data.subarray(4).every((v) => v === 0) ? false : true;
  }

  model.on("change:board_loaded", loadBoard);
  model.on("change:result", showResult);
  model.on("change:inspected", showInspection);
  model.on("msg:custom", (message) => {
    if (message && message.type === "error") { status.textContent = message.message; inFlight = false; busy(); }
  });
  loadBoard();
  showResult();
  showInspection();
  model.send({ type: "hello" });
  return () => { clearTimeout(waiting); };
}

export default { render };
