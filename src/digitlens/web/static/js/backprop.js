// The Backprop tab: real training steps on the current digit and its right answer.
// /api/backprop runs forward, loss, backward and the optimizer on a copy of the model and returns
// what the last step changed; several steps in a row are asked for as "steps": n, which the server
// repeats exactly, so "one more step" is the same run asked for with n + 1. This file draws it.
//
// The right answer follows the current digit - its label when it has one (an MNIST digit), else
// the network's prediction - until the learner picks one; a new digit follows again.

import { post, unpack } from "./api.js";
import { lineChart } from "./chart.js";
import { drawDiverging, drawGray, drawTiles, fixed, legend, maxAbs, percent, precise, signed } from "./colors.js";
import { className, el, layerName, on, plural, state, toast, unavailable } from "./state.js";
import { currentDigit } from "./draw.js";

let label = null;
let picked = false;         // the learner chose the label: it no longer follows the digit
let run = null;             // {key, steps, result}: the run of steps shown

export function setup() {
  on("model", (model) => { buildLabels(model); resetRun(); });
  on("digit", (digit) => {
    picked = false;
    resetRun();
    if (!digit) clearLabel(); else follow();
    showDigit();
  });
  on("prediction", () => { follow(); showDigit(); });
  on("tab", (name) => { if (name === "backprop") { follow(); showDigit(); } });
  document.getElementById("bp-step").addEventListener("click", step);
  document.getElementById("bp-again").addEventListener("click", () => { resetRun(); });
  document.getElementById("bp-optimizer").addEventListener("change", (event) => {
    document.getElementById("bp-rate").disabled = event.target.value === "model";
    resetRun();
  });
  document.getElementById("bp-rate").addEventListener("change", resetRun);
  window.addEventListener("resize", () => { if (run && run.result && state.tab === "backprop") drawLosses(run.result); });
}

function buildLabels(model) {
  const box = document.getElementById("bp-labels");
  if (!model) { box.replaceChildren(); return; }
  const buttons = [];
  for (let k = 0; k < model.outputs; k++) {
    buttons.push(el("button", { type: "button", text: className(k), "aria-pressed": "false", "data-testid": `bp-label-${k}`,
      "aria-label": `the right answer is ${className(k)}`, onclick: () => { picked = true; setLabel(k); resetRun(); } }));
  }
  box.replaceChildren(...buttons);
  label = null;
  picked = false;
}

function setLabel(k) {
  label = k;
  document.querySelectorAll("#bp-labels button").forEach((b, i) => b.setAttribute("aria-pressed", String(i === k)));
  const note = document.getElementById("bp-label-note");
  const d = state.digit;
  if (picked) note.textContent = `you picked ${className(k)}`;
  else if (d && d.label !== undefined && d.label !== null) note.textContent = `${className(k)}: this digit's label`;
  else note.textContent = `${className(k)}: what the network reads (pick another if that is wrong)`;
}

function clearLabel() {
  label = null;
  document.querySelectorAll("#bp-labels button").forEach((b) => b.setAttribute("aria-pressed", "false"));
  document.getElementById("bp-label-note").textContent = "";
}

// Until the learner picks, the answer is the digit's label, else the prediction.
function follow() {
  if (picked) return;
  const d = state.digit, p = state.prediction;
  if (d && d.label !== undefined && d.label !== null) setLabel(d.label);
  else if (p) setLabel(p.prediction);
}

function showDigit() {
  const canvas = document.getElementById("bp-digit");
  drawGray(canvas, currentDigit());
  const note = document.getElementById("bp-digit-note");
  if (!state.digit) { note.textContent = "no digit yet: draw one in the Draw tab"; canvas.setAttribute("aria-label", "no digit yet"); return; }
  const p = state.prediction;
  const read = p ? p.class_names[p.prediction] : "?";
  note.replaceChildren(state.digit.source || "your digit", el("br"), "the network reads ", el("b", { text: read }));
  canvas.setAttribute("aria-label", `${state.digit.source || "your digit"}, read as ${read}`);
}

function settings() {
  const optimizer = document.getElementById("bp-optimizer").value;
  return { optimizer, learning_rate: optimizer === "model" ? null : Number(document.getElementById("bp-rate").value) };
}

function resetRun() {
  run = null;
  document.getElementById("bp-step").textContent = "Take one training step";
  document.getElementById("bp-again").hidden = true;
}

async function step() {
  if (!state.model) { toast("there is no model yet: train one or load a .keras file", "error"); return; }
  if (!state.digit) { toast("draw a digit first (Draw tab), or pick one in Model & data", "error"); return; }
  if (label === null) { toast("pick the right answer first", "error"); return; }
  const pixels = currentDigit();
  const key = JSON.stringify([pixels, label, settings(), state.version]);
  const steps = run && run.key === key ? run.steps + 1 : 1;
  const button = document.getElementById("bp-step");
  button.disabled = true;
  try {
    const r = await post("/api/backprop", { pixels, label, ...settings(), steps });
    run = { key, steps, result: r };
    show(r);
    button.textContent = steps < 200 ? `Take another step (step ${steps + 1})` : "200 steps: start again";
    if (steps >= 200) run = null;
    document.getElementById("bp-again").hidden = false;
  } catch (error) {
    toast(error.message, "error");
  } finally {
    button.disabled = false;
  }
}

function show(r) {
  document.getElementById("bp-empty").hidden = true;
  document.getElementById("bp-body").hidden = false;
  const name = (k) => r.class_names[k];
  document.getElementById("bp-summary").replaceChildren(
    stat(`${fixed(r.loss_before, 4)} \u2192 ${fixed(r.loss_after, 4)}`, "loss (\u2212log p of the right answer)", "bp-loss"),
    stat(`${percent(r.probs_before[r.label])} \u2192 ${percent(r.probs_after[r.label])}`, `probability of ${name(r.label)}`),
    stat(`${name(r.prediction_before)} \u2192 ${name(r.prediction_after)}`, "prediction"),
    stat(`${r.optimizer.name}, rate ${precise(r.optimizer.learning_rate)}`,
      r.steps === 1 ? `step ${r.optimizer.step}` : `step ${r.steps} of this run (optimizer step ${r.optimizer.step})`));
  drawLosses(r);
  const rows = r.probs_before.map((before, k) => {
    const after = r.probs_after[k];
    return el("div", { class: `bp-prob ${k === r.label ? "label" : ""}`, "data-testid": `bp-prob-${k}` },
      el("span", { class: "d", text: name(k) }),
      el("span", { class: "bars", "aria-hidden": "true" },
        el("span", { class: "before", style: `width:${barWidth(before)}%`, title: `before ${percent(before, 2)}` }),
        el("span", { class: "after", style: `width:${barWidth(after)}%`, title: `after ${percent(after, 2)}` })),
      el("span", { class: "v", text: `${percent(before)} \u2192 ${percent(after)}` }));
  });
  document.getElementById("bp-probs").replaceChildren(
    el("div", { class: "muted small" }, "probabilities ", el("span", { class: "key-before", text: "\u25a0 before" }), " ",
      el("span", { class: "key-after", text: "\u25a0 after" }), r.steps === 1 ? " the step" : ` step ${r.steps}`), ...rows);
  document.getElementById("bp-note").textContent = r.note;

  const describe = (c) => {
    if (c.pixel) return `pixel (${c.pixel[0]}, ${c.pixel[1]}) \u2192 ${r.layers.length > 2 ? "L1 " : ""}neuron ${c.to}`;
    const last = c.layer_index === r.layers.length - 1;
    // the first Dense layer of a CNN reads the flattened maps, not pixels and not neurons
    const source = c.layer_index === 0 ? `input ${c.from}` : r.layers.length > 2 ? `L${c.layer_index} neuron ${c.from}` : `neuron ${c.from}`;
    return `${source} \u2192 ${last ? `output ${name(c.to)}` : `L${c.layer_index + 1} neuron ${c.to}`}`;
  };
  const fill = (id, list) => document.getElementById(id).replaceChildren(
    ...list.map((c) => el("li", { title: `${c.layer}: weight from ${c.pixel ? "input" : "neuron"} ${c.from} to unit ${c.to} changed by ${precise(c.delta, 4)}` },
      el("span", {}, describe(c), el("b", { text: signed(c.delta, 4) })))),
    list.length ? "" : el("li", { class: "muted", text: "none" }));
  fill("bp-up", r.top_strengthened);
  fill("bp-down", r.top_weakened);

  const maps = unpack(r.change_maps);
  const canvas = document.getElementById("bp-maps");
  unavailable(canvas, maps ? null : r.change_maps_note, [document.getElementById("bp-maps-legend"), document.getElementById("bp-maps-note")]);
  if (maps) {
    const units = maps.shape[0];
    const limit = maxAbs(maps.data) || 1e-12;
    drawTiles(canvas, maps.data, units, { cols: Math.ceil(Math.sqrt(units)), limit });
    legend(document.getElementById("bp-maps-legend"), limit, 2);
    canvas.setAttribute("aria-label", `weight changes of the ${units} neurons of the first hidden layer, each a 28 by 28 picture; the largest change is ${precise(limit, 2)}`);
  }
  showLayerDeltas(r);
}

// The kernels of every layer after the first: one row per unit, one column per input.
function showLayerDeltas(r) {
  const box = document.getElementById("bp-layer-deltas");
  const parts = [];
  r.layers.forEach((layer, k) => {
    if (!layer.delta) return;             // the first layer's changes are the change maps
    const d = unpack(layer.delta);
    const [inputs, units] = d.shape;
    const rowsFirst = new Float32Array(inputs * units);       // draw units as rows: (i, j) sits at j * inputs + i
    for (let i = 0; i < inputs; i++) for (let j = 0; j < units; j++) rowsFirst[j * inputs + i] = d.data[i * units + j];
    const last = k === r.layers.length - 1;
    const limit = maxAbs(d.data) || 1e-12;
    const canvas = el("canvas", { class: "delta-matrix", role: "img",
      "aria-label": `changes of ${layer.name}'s ${inputs * units} weights; the largest is ${precise(limit, 2)}` });
    drawDiverging(canvas, rowsFirst, inputs, units, limit);
    const labels = last ? el("div", { class: "rowlabels", "aria-hidden": "true" }, ...r.class_names.map((c) => el("span", { text: c }))) : null;
    const scale = el("div", { class: "scale-legend" });
    legend(scale, limit, 2);
    parts.push(el("h3", { text: last ? "Output layer changes" : `${k === 0 ? layer.name : layerName(k)}: weight changes` }),
      el("div", { class: "bp-out-wrap" }, labels, canvas), scale,
      el("p", { class: "muted small", text: `one row per ${last ? "output" : "neuron of this layer"}, one column per ` +
        (k === 0 ? `input (the ${inputs.toLocaleString()} values the layers below make)` : `neuron of ${layerName(k - 1, { long: false })}`) +
        ": the change of the weight between them" }));
  });
  box.replaceChildren(...parts);
}

function drawLosses(r) {
  const canvas = document.getElementById("bp-losses");
  document.getElementById("bp-run").hidden = r.steps < 2;
  if (r.steps < 2) return;
  const points = r.losses.map((loss, i) => [i, loss]);
  const top = Math.max(...r.losses.filter(Number.isFinite), 0.1);
  lineChart(canvas, { title: `loss over ${plural(r.steps, "step")}`, xMax: r.steps, yMax: top * 1.1, xLabel: "step",
    divisions: 2, format: (v) => v.toFixed(2), series: [{ points, color: "#4f46e5", width: 2, dots: true }] });
  canvas.setAttribute("aria-label", `the loss over ${plural(r.steps, "step")}: ${r.losses.map((v) => fixed(v, 3)).join(", ")}`);
}

function stat(value, caption, testid) {
  return el("div", { class: "stat", "data-testid": testid }, el("b", { text: value }), el("span", { text: caption }));
}

function barWidth(p) {
  return Number.isFinite(p) ? (100 * p).toFixed(2) : "0";
}
