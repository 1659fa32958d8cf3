// The Inspect panel under the network: one hidden neuron (its weights as a picture, its weighted
// sum for this digit, which pixels drove it) or one output (which hidden neurons pushed it up or
// down, and the softmax step by step). Numbers from /api/neuron and /api/output.

import { post } from "./api.js";
import { drawDiverging, drawGray, fixed, flat, legend, maxAbs, percent, precise, signed } from "./colors.js";
import { className, el, emit, on, state, toast } from "./state.js";
import { currentDigit } from "./draw.js";
import { markNeurons, markOutput } from "./network.js";

let body, empty;
let selected = null;        // {kind, index}
let busy = false, again = false;

export function setup() {
  body = document.getElementById("inspect-body");
  empty = document.getElementById("inspect-empty");
  on("inspect", (what) => { selected = what; refresh(); });
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
      const detail = await post("/api/neuron", { pixels, neuron: what.index });
      if (selected === what) showNeuron(detail);
    } else {
      const detail = await post("/api/output", { pixels, output: what.index, top: 10 });
      if (selected === what) showOutput(detail);
    }
  } catch (error) {
    toast(error.message, "error");
  } finally {
    busy = false;
    if (again) { again = false; refresh(); }
  }
}

// A small picture with a caption of two lines (plain text: one may name the learner's file).
function picture([line1, line2], draw, extra) {
  const canvas = el("canvas", { width: 28, height: 28 });
  draw(canvas);
  return el("div", { class: "pic" }, canvas, el("div", { class: "cap" }, line1, el("br"), line2), extra || null);
}

function showNeuron(d) {
  markNeurons([], [], d.neuron);
  markOutput(null);
  const weights = flat(d.weights);
  const contributions = flat(d.pixel_contributions);
  const wLimit = d.limits.weights;
  const cLimit = d.limits.pixel_contributions;
  const wLegend = el("div", { class: "scale-legend" });
  legend(wLegend, wLimit);
  const cLegend = el("div", { class: "scale-legend" });
  legend(cLegend, cLimit || 1e-9);
  const layer = state.prediction && state.prediction.layers[0];
  const act = layer ? layer.activation_name : "activation";
  const drawn = state.digit ? state.digit.source || "this digit" : "a blank image (draw a digit)";

  const outgoing = el("div", { class: "outgoing", "aria-label": "weights to the outputs" });
  const oLimit = maxAbs(d.outgoing);
  d.outgoing.forEach((w, k) => {
    const h = oLimit ? Math.abs(w) / oLimit * 30 : 0;    // bars up from the middle line if positive, down if negative
    outgoing.append(el("div", { class: "col", title: `to output ${className(k)}: weight ${fixed(w, 4)}` },
      el("span", { class: "half up" }, w > 0 ? el("span", { class: "b pos-b", style: `height:${h.toFixed(1)}px` }) : null),
      el("span", { class: "half down" }, w < 0 ? el("span", { class: "b neg-b", style: `height:${h.toFixed(1)}px` }) : null),
      el("span", { class: "lbl", text: className(k) })));
  });

  body.replaceChildren(
    el("div", { class: "inspect-head" },
      el("h2", { text: `Hidden neuron ${d.neuron}` }),
      el("span", { class: "muted small", text: `layer ${d.layer}: 784 incoming weights, one per pixel` })),
    el("div", { class: "inspect-cols" },
      picture(["its 784 weights", "(what it looks for)"], (c) => drawDiverging(c, weights, 28, 28, wLimit), wLegend),
      el("span", { class: "op", text: "\u00d7" }),
      picture(["the digit", `(${drawn})`], (c) => drawGray(c, currentDigit())),
      el("span", { class: "op", text: "=" }),
      picture(["pixel \u00d7 weight", "(which pixels drove it)"], (c) => drawDiverging(c, contributions, 28, 28, cLimit || 1), cLegend),
      el("div", { class: "equation" },
        el("div", {}, "weighted sum ", el("code", { text: "z = \u03a3 pixel \u00d7 weight + bias" })),
        el("dl", { class: "kv" },
          el("dt", { text: "bias" }), el("dd", { text: fixed(d.bias, 4) }),
          el("dt", { text: "z" }), el("dd", { text: fixed(d.z, 4) }),
          el("dt", { text: `${act}(z)` }), el("dd", { class: "big", text: fixed(d.activation, 4) })),
        el("p", { class: "muted small", text: d.activation > 0
          ? "It fires: blue weights under the ink outweighed the red ones."
          : "It stays silent: its weighted sum is not positive for this digit." })),
      d.outgoing.length ? el("div", { class: "outgoing-box" }, el("h3", { text: "its weights to the outputs" }), outgoing,
        el("p", { class: "muted small", text: "up (blue): it votes for that output; down (red): against it" })) : null));
  empty.hidden = true;
  body.hidden = false;
}

function showOutput(d) {
  markNeurons(d.top_up.map((r) => r.neuron), d.top_down.map((r) => r.neuron), null);
  markOutput(d.output);
  const limit = Math.max(maxAbs(d.top_up.map((r) => r.contribution)), maxAbs(d.top_down.map((r) => r.contribution)));
  const list = (rows, kind) => el("ol", { class: "push-list" }, ...rows.map((r) => {
    return el("li", {},
      el("button", { text: `neuron ${r.neuron}`, onclick: () => emit("inspect", { kind: "neuron", index: r.neuron }),
        title: `activation ${fixed(r.activation)} \u00d7 weight ${fixed(r.weight)}` }),
      el("span", { class: "bar" }, el("span", { style: `width:${(100 * Math.abs(r.contribution) / limit).toFixed(1)}%;background:var(${r.contribution >= 0 ? "--pos" : "--neg"})` })),
      el("span", { class: "v", text: signed(r.contribution, 3) }));
  }), rows.length ? null : el("li", { class: "muted", text: kind === "up" ? "no neuron pushed it up" : "no neuron pushed it down" }));

  const p = state.prediction;
  let softmax = null;
  if (p && p.softmax) {
    const s = p.softmax;
    softmax = el("table", { class: "softmax-table" },
      el("tr", {}, ...["output", "z", "z \u2212 max", "exp", "\u00f7 sum = p"].map((h) => el("th", { text: h }))),
      ...s.z.map((z, k) => el("tr", { class: k === d.output ? "sel" : "" },
        el("td", { text: className(k) }), el("td", { text: fixed(z, 2) }), el("td", { text: fixed(s.z_minus_max[k], 2) }),
        el("td", { text: precise(s.exp[k]) }), el("td", { text: percent(s.probs[k], 2) }))),
      el("tr", {}, el("td", { text: "sum" }), el("td"), el("td"), el("td", { text: precise(s.sum, 4) }), el("td", { text: "100%" })));
  }
  body.replaceChildren(
    el("div", { class: "inspect-head" },
      el("h2", { text: `Output ${className(d.output)}` }),
      el("span", { class: "muted small" }, "its score ", el("code", { text: "z = bias + \u03a3 activation \u00d7 weight" }),
        ` = ${fixed(d.z, 3)} (bias ${fixed(d.bias, 3)}), over ${d.activations.length} hidden neurons`)),
    el("div", { class: "inspect-cols" },
      el("div", { class: "push-lists" },
        el("div", {}, el("h3", {}, el("span", { class: "pos", text: "Pushed it up" }), " (activation \u00d7 weight)"), list(d.top_up, "up")),
        el("div", {}, el("h3", {}, el("span", { class: "neg", text: "Pushed it down" })), list(d.top_down, "down"))),
      softmax ? el("div", {}, el("h3", { text: "softmax, step by step" }), softmax) : null));
  empty.hidden = true;
  body.hidden = false;
}
