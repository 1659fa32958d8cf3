// The Backprop tab: one real training step on the current digit and a label the learner picks.
// /api/backprop runs forward, loss, backward and the optimizer on a copy of the model and
// returns what changed; this file draws it.

import { post, unpack } from "./api.js";
import { drawGray, drawTiles, fixed, legend, maxAbs, percent, precise, signed, drawDiverging } from "./colors.js";
import { className, el, on, state, toast } from "./state.js";
import { currentDigit } from "./draw.js";

let label = null;

export function setup() {
  on("model", buildLabels);
  on("prediction", showDigit);
  on("tab", (name) => { if (name === "backprop") showDigit(); });
  document.getElementById("bp-step").addEventListener("click", step);
  document.getElementById("bp-optimizer").addEventListener("change", (event) => {
    document.getElementById("bp-rate").disabled = event.target.value === "model";
  });
}

function buildLabels(model) {
  const box = document.getElementById("bp-labels");
  if (!model) { box.replaceChildren(); return; }
  const buttons = [];
  for (let k = 0; k < model.outputs; k++) {
    buttons.push(el("button", { type: "button", text: className(k), "aria-pressed": "false", "data-testid": `bp-label-${k}`,
      onclick: () => pick(k) }));
  }
  box.replaceChildren(...buttons);
  label = null;
}

function pick(k) {
  label = k;
  document.querySelectorAll("#bp-labels button").forEach((b, i) => b.setAttribute("aria-pressed", String(i === k)));
}

function showDigit() {
  drawGray(document.getElementById("bp-digit"), currentDigit());
  const note = document.getElementById("bp-digit-note");
  if (!state.digit) { note.textContent = "no digit yet: draw one in the Draw tab"; return; }
  const p = state.prediction;
  note.replaceChildren(state.digit.source || "your digit", el("br"), "the network reads ",
    el("b", { text: p ? p.class_names[p.prediction] : "?" }));
  if (label === null) {
    if (state.digit.label !== undefined) pick(state.digit.label);
    else if (p) pick(p.prediction);
  }
}

async function step() {
  if (!state.model) { toast("there is no model yet: train one or load a .keras file", "error"); return; }
  if (!state.digit) { toast("draw a digit first (Draw tab), or pick one in Model & data", "error"); return; }
  if (label === null) { toast("pick the right answer first", "error"); return; }
  const optimizer = document.getElementById("bp-optimizer").value;
  const rate = Number(document.getElementById("bp-rate").value);
  const button = document.getElementById("bp-step");
  button.disabled = true;
  try {
    const r = await post("/api/backprop", { pixels: currentDigit(), label, optimizer,
      learning_rate: optimizer === "model" ? null : rate });
    show(r);
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
    stat(`${fixed(r.loss_before, 4)} \u2192 ${fixed(r.loss_after, 4)}`, "loss (\u2212log p of the right answer)"),
    stat(`${percent(r.probs_before[r.label])} \u2192 ${percent(r.probs_after[r.label])}`, `probability of ${name(r.label)}`),
    stat(`${name(r.prediction_before)} \u2192 ${name(r.prediction_after)}`, "prediction"),
    stat(`${r.optimizer.name}, rate ${precise(r.optimizer.learning_rate)}`, `step ${r.optimizer.step}`));
  const rows = r.probs_before.map((before, k) => {
    const after = r.probs_after[k];
    return el("div", { class: `bp-prob ${k === r.label ? "label" : ""}`, "data-testid": `bp-prob-${k}` },
      el("span", { class: "d", text: name(k) }),
      el("span", { class: "bars" },
        el("span", { class: "before", style: `width:${barWidth(before)}%`, title: `before ${percent(before, 2)}` }),
        el("span", { class: "after", style: `width:${barWidth(after)}%`, title: `after ${percent(after, 2)}` })),
      el("span", { class: "v", text: `${percent(before)} \u2192 ${percent(after)}` }));
  });
  document.getElementById("bp-probs").replaceChildren(
    el("div", { class: "muted small" }, "probabilities ", el("span", { style: "color:#9aa3b5", text: "\u25a0 before" }), " ",
      el("span", { style: "color:var(--accent)", text: "\u25a0 after" }), " the step"), ...rows);
  document.getElementById("bp-note").textContent = r.note;

  const describe = (c) => c.pixel
    ? `pixel (${c.pixel[0]}, ${c.pixel[1]}) \u2192 neuron ${c.to}`
    : `neuron ${c.from} \u2192 output ${name(c.to)}`;
  const fill = (id, list) => document.getElementById(id).replaceChildren(
    ...list.map((c) => el("li", { title: `${c.layer}: weight from ${c.pixel ? "input" : "neuron"} ${c.from} to unit ${c.to} changed by ${precise(c.delta, 4)}` },
      el("span", {}, describe(c), el("b", { text: signed(c.delta, 4) })))),
    list.length ? "" : el("li", { class: "muted", text: "none" }));
  fill("bp-up", r.top_strengthened);
  fill("bp-down", r.top_weakened);

  const maps = unpack(r.change_maps);
  const canvas = document.getElementById("bp-maps");
  if (maps) {
    const units = maps.shape[0];
    const limit = maxAbs(maps.data) || 1e-12;
    drawTiles(canvas, maps.data, units, { cols: Math.ceil(Math.sqrt(units)), limit });
    legend(document.getElementById("bp-maps-legend"), limit, 2);
  }
  const out = unpack(r.output_delta);
  if (out) {
    const [hidden, outputs] = out.shape;
    // draw outputs as rows: transpose by reading (j, k) at j * outputs + k
    const rowsFirst = new Float32Array(hidden * outputs);
    for (let j = 0; j < hidden; j++) for (let k = 0; k < outputs; k++) rowsFirst[k * hidden + j] = out.data[j * outputs + k];
    drawDiverging(document.getElementById("bp-out"), rowsFirst, hidden, outputs, maxAbs(out.data) || 1e-12);
    document.getElementById("bp-out-labels").replaceChildren(...r.class_names.map((c) => el("span", { text: c })));
  }
}

function stat(value, caption) {
  return el("div", { class: "stat" }, el("b", { text: value }), el("span", { text: caption }));
}

function barWidth(p) {
  return Number.isFinite(p) ? (100 * p).toFixed(2) : "0";
}
