// The one-step-of-learning widget (digitlens.notebook.backprop): the digit, the probabilities
// before and after, the change maps, the connections that changed most, and buttons for another
// step, another label, or starting again. Draws what notebook/step.py sends.

import { drawDiverging, drawGray, drawTiles, fixed, legend, percent, setColors, signed } from "../../web/static/js/colors.js";
import { el } from "../../web/static/js/state.js";
import { floats, widgetRoot } from "./view.js";

function render({ model, el: host }) {
  const setup = model.get("setup");
  setColors(setup.colors);
  const names = setup.class_names;
  const root = widgetRoot("dl-backprop");
  const digit = el("canvas", { class: "dl-pic" });
  drawGray(digit, setup.digit);
  const labels = el("div", { class: "dl-labels", role: "group", "aria-label": "the right label" },
    ...names.map((name, k) => el("button", { type: "button", class: "dl-button", text: name, "aria-pressed": "false",
      "data-label": k, onclick: () => { busy(); model.send({ type: "label", label: k }); } })));
  const another = el("button", { type: "button", class: "dl-button primary", text: "Another step", "data-testid": "another-step",
    onclick: () => { busy(); model.send({ type: "step" }); } });
  const again = el("button", { type: "button", class: "dl-button", text: "Start again",
    onclick: () => { busy(); model.send({ type: "reset" }); } });
  const headline = el("div", { class: "dl-note" });
  const probs = el("div", { class: "dl-probs" });
  const trail = el("div", { class: "dl-note" });
  const note = el("p", { class: "dl-note" });
  const maps = el("canvas", { class: "dl-tiles" });
  const mapsLegend = el("div", { class: "dl-legend" });
  const mapsNote = el("div", { class: "dl-note" });
  const outputChanges = el("canvas", { class: "dl-tiles" });
  const outputLegend = el("div", { class: "dl-legend" });
  const outputNote = el("div", { class: "dl-note" });
  const changes = el("div", { class: "dl-row" });
  const status = el("div", { class: "dl-status", role: "status" });
  root.append(
    el("div", { class: "dl-row" },
      el("figure", {}, digit, el("figcaption", { text: "the digit" })),
      el("div", {}, el("h4", { text: "the right label" }), labels,
        el("div", { class: "dl-tools" }, another, again, status), headline, trail),
      el("div", {}, el("h4", { text: "probabilities: before \u2192 after the step" }), probs)),
    note,
    el("div", { class: "dl-row" },
      el("div", {}, el("h4", { text: "how each hidden neuron's 784 weights changed" }), maps, mapsLegend, mapsNote),
      el("div", {}, el("h4", { text: "how the output layer's weights changed" }), outputChanges, outputLegend, outputNote)),
    changes);
  host.appendChild(root);

  function busy() { status.textContent = "taking the step\u2026"; root.dataset.busy = "true"; }

  function show() {
    const r = model.get("result");
    if (!r || r.label === undefined) return;
    status.textContent = "";
    root.dataset.busy = "false";
    root.dataset.steps = String(r.number);
    root.dataset.after = String(r.probs_after[r.label]);
    labels.querySelectorAll("button").forEach((b, k) => b.setAttribute("aria-pressed", String(k === r.label)));
    const name = names[r.label];
    headline.replaceChildren(`step ${r.number}: p(${name}) `, el("b", { text: percent(r.probs_before[r.label], 2) }), " \u2192 ",
      el("b", { text: percent(r.probs_after[r.label], 2) }), `; loss ${fixed(r.loss_before, 4)} \u2192 ${fixed(r.loss_after, 4)}`);
    trail.textContent = `p(${name}) over the steps: ${r.trail.map((p) => percent(p, 1)).join(" \u2192 ")}`;
    probs.replaceChildren(el("span"), el("span", { class: "dl-note", text: "" }), el("span", { class: "dl-note", text: "before" }), el("span", { class: "dl-note", text: "after" }),
      ...names.flatMap((n, k) => [
        el("span", { class: k === r.label ? "right" : "", text: n }),
        el("span", { class: "dl-bar" }, el("span", { style: `width:${(100 * r.probs_after[k]).toFixed(2)}%` })),
        el("span", { class: "dl-prob", text: percent(r.probs_before[k]) }),
        el("span", { class: `dl-prob ${k === r.label ? "right" : ""}`, text: percent(r.probs_after[k]) })]));
    note.textContent = r.note;
    if (r.maps) {
      drawTiles(maps, floats(model.get("maps")), r.maps.count, { cols: 16, side: r.maps.shape[0], limit: r.maps.limit });
      legend(mapsLegend, r.maps.limit, 2);
      mapsNote.textContent = `${r.maps.count} neurons of ${r.layers[0].name}: blue = the weight grew, red = it shrank. Each map is the digit, scaled by how much that neuron should have fired more or less.`;
    }
    if (r.output_delta) {
      const [hidden, classes] = r.output_delta;
      const values = floats(model.get("output_delta"));
      const transposed = new Float32Array(hidden * classes);     // one row per output, as drawn
      for (let i = 0; i < hidden; i++) for (let k = 0; k < classes; k++) transposed[k * hidden + i] = values[i * classes + k];
      drawDiverging(outputChanges, transposed, hidden, classes, r.output_limit);
      outputChanges.style.height = `${Math.max(40, classes * 6)}px`;
      legend(outputLegend, r.output_limit, 2);
      outputNote.textContent = `one row per output (${names[0]} at the top), one column per neuron of ${r.layers[r.layers.length - 2].name}: the row of the right digit turns blue where neurons fired`;
    }
    const table = (title, rows) => el("div", { class: "dl-scroll" }, el("h5", { text: title }), el("table", { class: "dl-epochs" },
      el("tr", {}, ...["layer", "from", "to", "change"].map((h) => el("th", { text: h }))),
      ...rows.map((c) => el("tr", {}, el("td", { text: c.layer }),
        el("td", { text: c.pixel ? `pixel (${c.pixel[0]}, ${c.pixel[1]})` : `neuron ${c.from}` }),
        el("td", { text: c.layer === r.layers[r.layers.length - 1].name ? `output ${names[c.to]}` : `neuron ${c.to}` }),
        el("td", { text: signed(c.delta, 4) })))));
    changes.replaceChildren(table("strengthened most", r.top_strengthened), table("weakened most", r.top_weakened));
  }

  model.on("change:result", show);
  model.on("msg:custom", (m) => { if (m && m.type === "error") { status.textContent = m.message; root.dataset.busy = "false"; } });
  show();
}

export default { render };
