// The Draw tab's network, lit by the last prediction: the preparation steps, the flatten strip,
// one grid per hidden layer, and the outputs. Everything drawn here is a number /api/predict
// returned; the grids and the outputs are the reusable views of layers.js.

import { drawGray, percent } from "./colors.js";
import { createLayerGrid, createOutputs } from "./layers.js";
import { createStrip } from "./strip.js";
import { className, el, emit, hiddenLayers, layerName, on, state } from "./state.js";

let container, outputsRoot, strip;
let grids = [];           // one per hidden layer
let outputs = null;
let builtFor = null;      // the model version the views were built for

export function setup() {
  // A crop of any shape is shown whole: its longer side fills the box, the shorter one is centred.
  for (const id of ["prep-cropped", "prep-scaled"]) {
    const img = document.getElementById(id);
    img.addEventListener("load", () => {
      const box = img.parentElement.clientWidth;
      const scale = box / Math.max(img.naturalWidth, img.naturalHeight);
      img.style.width = `${img.naturalWidth * scale}px`;
      img.style.height = `${img.naturalHeight * scale}px`;
    });
  }
  container = document.getElementById("hidden-layers");
  outputsRoot = document.getElementById("outputs");
  strip = createStrip(document.getElementById("strip"), document.getElementById("strip-info"),
    { onPixel: highlightPixel });
  on("model", build);
  on("prediction", render);
}

function build(model) {
  if (!model) { container.replaceChildren(); outputsRoot.replaceChildren(); grids = []; outputs = null; return; }
  if (builtFor === model.version) return;
  builtFor = model.version;
  const hidden = hiddenLayers();
  document.getElementById("hidden-title").textContent = hidden.length === 0 ? "No hidden layer"
    : hidden.length === 1 ? `Hidden layer: ${hidden[0].units} neurons, ${hidden[0].activation}`
    : `${hidden.length} hidden layers: ${hidden.map((h) => `${h.units} ${h.activation}`).join(" \u2192 ")}`;
  grids = hidden.map((h, k) => {
    const root = el("div", { class: "layer-block", "data-layer": k });
    container.append(root);
    const grid = createLayerGrid(root, { layer: k, units: h.units, activation: h.activation,
      title: hidden.length === 1 ? `hidden layer ${h.name}: ${h.units} neurons, ${h.activation}` : layerName(k),
      onSelect: (j) => emit("inspect", { kind: "neuron", layer: k, index: j }) });
    if (hidden.length === 1) root.querySelector(".layer-title").classList.add("visually-hidden");  // the card's title says it
    return grid;
  });
  container.replaceChildren(...grids.map((g) => g.element.parentElement));
  if (!hidden.length) {        // the output layer reads the pixels, or the layer below it (a CNN's pooled maps)
    const output = model.layers.find((layer) => layer.fully_connected);
    const k = output ? model.layers.indexOf(output) : -1;
    const below = k > 0 ? model.layers[k - 1] : null;
    container.replaceChildren(el("p", { class: "muted small", text: below && model.layers.some((layer) => layer.maps)
      ? `This network has no hidden Dense layer: its output layer, ${output.name}, reads the ${output.input_shape[0].toLocaleString()} numbers of ${below.name} (${below.label}) directly.`
      : "This network has no hidden layer: its output layer reads the pixels directly." }));
  }
  outputs = createOutputs(outputsRoot, { names: model.class_names.map((_, k) => className(k)),
    onSelect: (k) => emit("inspect", { kind: "output", index: k }) });
  if (state.prediction) render(state.prediction);
}

// Outline neurons: marks = {layer: {up, down, selected}}; layers not named are cleared.
export function markNeurons(marks = {}) {
  grids.forEach((grid, k) => grid.mark(marks[k] || {}));
}

export function markOutput(k) {
  if (outputs) outputs.mark(k);
}

function render(p) {
  const prediction = document.getElementById("prediction");
  const note = document.getElementById("prediction-note");
  const doubt = document.getElementById("doubt");
  const final = document.getElementById("prep-final");
  if (!p) {
    prediction.textContent = "?";
    note.textContent = "draw a digit";
    doubt.hidden = true;
    for (const grid of grids) grid.render(null);
    if (outputs) outputs.render(null);
    showPreparation(null);
    drawGray(final, new Array(784).fill(0));
    final.setAttribute("aria-label", "the prepared digit: nothing yet");
    strip.render(null);
    return;
  }
  showPreparation(p);
  drawGray(final, p.image);
  final.setAttribute("aria-label", `the prepared digit, 28 by 28 pixels, read as ${p.class_names[p.prediction]}`);
  strip.render(p.flatten);
  // every Dense layer but the last is a hidden layer, lit by its activations
  p.layers.slice(0, -1).forEach((layer, k) => { if (grids[k] && grids[k].units === layer.activation.length) grids[k].render(layer.activation); });
  if (outputs) outputs.render(p.probabilities, p.prediction);
  prediction.textContent = p.class_names[p.prediction];
  prediction.setAttribute("aria-label", `prediction: ${p.class_names[p.prediction]}`);
  note.replaceChildren(el("b", { text: percent(p.probabilities[p.prediction]) }), el("br"), p.confidence);
  // another part of digitlens may say the picture does not look like one digit
  doubt.hidden = !p.doubt;
  doubt.textContent = p.doubt || "";
}

// The crop and the scaled crop of a picture; prepared pixels (an MNIST digit) have none, and say why.
function showPreparation(p) {
  const cropped = document.getElementById("prep-cropped");
  const scaled = document.getElementById("prep-scaled");
  const note = document.getElementById("prep-note");
  const steps = p && p.steps;
  for (const [img, figure, key] of [[cropped, "prep-crop-figure", "cropped"], [scaled, "prep-scale-figure", "scaled"]]) {
    document.getElementById(figure).hidden = !!p && !steps;
    if (steps) { if (img.getAttribute("src") !== steps[key]) img.src = steps[key]; } else img.removeAttribute("src");
  }
  note.hidden = !p || !!steps;
  note.textContent = p && !steps ? "This digit comes from MNIST, already prepared: cropped, scaled into 20\u00d720 and " +
    "centred in 28\u00d728 by MNIST's makers, so there is nothing to crop or scale." : "";
}

function highlightPixel(pixel) {
  const canvas = document.getElementById("prep-final");
  if (!state.prediction) return;
  drawGray(canvas, state.prediction.image);
  if (!pixel) return;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "rgba(99, 102, 241, .95)";
  ctx.fillRect(pixel[1], pixel[0], 1, 1);
}
