// The network on screen, lit by the last prediction: the prepared digit, the flatten strip, the
// hidden neurons and the outputs. Everything drawn here is a number /api/predict returned.

import { drawGray, fixed, lit, percent } from "./colors.js";
import { className, el, emit, on, state } from "./state.js";

let grid, outputs, strip, stripInfo;
let gridFor = null;        // "units:version" the grid was built for
let neuronCells = [];
let outputRows = [];
let focused = 0;
let gridShape = { cols: 1, units: 0 };

export function setup() {
  grid = document.getElementById("neuron-grid");
  outputs = document.getElementById("outputs");
  strip = document.getElementById("strip");
  stripInfo = document.getElementById("strip-info");
  on("model", buildForModel);
  grid.addEventListener("click", (event) => {
    const b = event.target.closest(".neuron");
    if (b) select(Number(b.dataset.neuron));
  });
  grid.addEventListener("keydown", (event) => moveFocus(event, gridShape.cols, gridShape.units));
  grid.addEventListener("focusin", (event) => {     // clicking or tabbing onto a cell makes it the tab stop
    const b = event.target.closest(".neuron");
    if (!b || Number(b.dataset.neuron) === focused) return;
    if (neuronCells[focused]) neuronCells[focused].tabIndex = -1;
    focused = Number(b.dataset.neuron);
    b.tabIndex = 0;
  });
  grid.addEventListener("mouseover", (event) => {
    const b = event.target.closest(".neuron");
    if (b) b.title = neuronTitle(Number(b.dataset.neuron));
  });
  on("prediction", render);
  strip.addEventListener("mousemove", hoverStrip);
  strip.addEventListener("mouseleave", () => { stripInfo.textContent = STRIP_TEXT; highlightPixel(null); });
  window.addEventListener("resize", () => state.prediction && drawStrip(state.prediction.flatten));
}

function buildForModel(model) {
  if (!model) { grid.replaceChildren(); outputs.replaceChildren(); return; }
  const hidden = model.hidden[0];
  const units = hidden ? hidden.units : 0;
  const key = `${units}:${model.version}`;
  if (gridFor === key) return;
  gridFor = key;
  const more = model.hidden.length > 1 ? ` (+${model.hidden.length - 1} more hidden layer${model.hidden.length > 2 ? "s" : ""})` : "";
  document.getElementById("hidden-title").textContent = hidden
    ? `Hidden layer: ${units} neurons, ${hidden.activation}${more}` : "No hidden layer";
  const cols = Math.max(1, Math.ceil(Math.sqrt(units)));
  grid.style.setProperty("--cols", cols);
  grid.style.setProperty("--pitch", `${Math.max(8, Math.min(44, Math.floor(352 / cols)))}px`);
  neuronCells = [];
  for (let j = 0; j < units; j++) {
    const b = el("button", { class: "neuron", "data-testid": `neuron-${j}`, "data-neuron": j,
      tabindex: j === 0 ? 0 : -1, "aria-label": `hidden neuron ${j}` });
    neuronCells.push(b);
  }
  grid.replaceChildren(...neuronCells);
  gridShape = { cols, units };
  focused = 0;

  outputRows = [];
  for (let k = 0; k < model.outputs; k++) {
    const row = el("button", { class: "output-row", "data-output": k, "data-testid": `output-${k}`,
      "aria-label": `output ${className(k)}`, onclick: () => emit("inspect", { kind: "output", index: k }) },
      el("span", { class: "digit", text: className(k) }),
      el("span", { class: "bar" }, el("span")),
      el("span", { class: "prob", "data-testid": `prob-${k}`, text: "\u2013" }));
    outputRows.push(row);
  }
  outputs.replaceChildren(...outputRows);
  if (state.prediction) render(state.prediction);
}

function select(j) {
  neuronCells[focused].tabIndex = -1;
  focused = j;
  neuronCells[j].tabIndex = 0;
  emit("inspect", { kind: "neuron", index: j });
}

function moveFocus(event, cols, units) {
  const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols, Home: -focused, End: units - 1 - focused };
  if (!event.target.closest(".neuron")) return;
  if (event.key === "Enter" || event.key === " ") { event.preventDefault(); select(focused); return; }
  if (!(event.key in moves)) return;
  event.preventDefault();
  const next = Math.max(0, Math.min(units - 1, focused + moves[event.key]));
  neuronCells[focused].tabIndex = -1;
  focused = next;
  neuronCells[next].tabIndex = 0;
  neuronCells[next].focus();
}

function neuronTitle(j) {
  const p = state.prediction;
  if (!p || !p.layers.length) return `neuron ${j}`;
  const layer = p.layers[0];
  return `neuron ${j}: weighted sum z = ${fixed(layer.z[j])}, activation ${layer.activation_name}(z) = ${fixed(layer.activation[j])}`;
}

export function markNeurons(up = [], down = [], selected = null) {
  neuronCells.forEach((b, j) => {
    b.classList.toggle("push-up", up.includes(j));
    b.classList.toggle("push-down", down.includes(j));
    b.classList.toggle("selected", j === selected);
  });
}

export function markOutput(k) {
  outputRows.forEach((row, i) => row.classList.toggle("selected", i === k));
}

function render(p) {
  const prediction = document.getElementById("prediction");
  const note = document.getElementById("prediction-note");
  if (!p) {
    prediction.textContent = "?";
    note.textContent = "draw a digit";
    for (const b of neuronCells) b.style.background = "";
    outputRows.forEach((row) => {
      row.classList.remove("top");
      row.querySelector(".bar span").style.width = "0";
      row.querySelector(".prob").textContent = "\u2013";
    });
    for (const id of ["prep-cropped", "prep-scaled"]) document.getElementById(id).removeAttribute("src");
    drawGray(document.getElementById("prep-final"), new Array(784).fill(0));
    drawStrip(null);
    return;
  }
  // preparation
  const cropped = document.getElementById("prep-cropped");
  const scaled = document.getElementById("prep-scaled");
  if (p.steps) { cropped.src = p.steps.cropped; scaled.src = p.steps.scaled; }
  else { cropped.removeAttribute("src"); scaled.removeAttribute("src"); }
  drawGray(document.getElementById("prep-final"), p.image);
  drawStrip(p.flatten);

  // hidden neurons, lit by activation relative to the layer's strongest
  const layer = p.layers[0];
  if (layer && p.layers.length > 1 && neuronCells.length === layer.activation.length) {
    const a = layer.activation;
    let top = 0;
    for (const v of a) top = Math.max(top, Math.abs(v));
    for (let j = 0; j < a.length; j++) neuronCells[j].style.background = lit(top > 0 ? Math.abs(a[j]) / top : 0);
    document.getElementById("hidden-legend").textContent =
      `brightness = activation (brightest ${fixed(top, 2)}); ${a.filter((v) => v > 0).length} of ${a.length} active`;
  }
  // outputs
  const probs = p.probabilities;
  outputRows.forEach((row, k) => {
    row.classList.toggle("top", k === p.prediction);
    row.querySelector(".bar span").style.width = `${Number.isFinite(probs[k]) ? (100 * probs[k]).toFixed(2) : 0}%`;
    row.querySelector(".prob").textContent = percent(probs[k]);
  });
  prediction.textContent = p.class_names[p.prediction];
  note.replaceChildren(el("b", { text: percent(probs[p.prediction]) }), el("br"), `sure it is ${p.class_names[p.prediction]}`);
}

// ---- the flatten strip ---------------------------------------------------------------------

const STRIP_TEXT = "row 0 is inputs 0\u201327, row 1 is inputs 28\u201355, \u2026 row 27 is inputs 756\u2013783. Hover to find a pixel.";

function drawStrip(flatten) {
  const width = Math.max(784, Math.round(strip.clientWidth * (window.devicePixelRatio || 1)));
  strip.width = width;
  strip.height = 28;
  const ctx = strip.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, width, 28);
  if (!flatten) return;
  const values = flatten.strip;
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (!v) continue;
    const x0 = Math.floor(i * width / n), x1 = Math.floor((i + 1) * width / n);
    ctx.fillStyle = `rgb(${v},${v},${v})`;
    ctx.fillRect(x0, 0, Math.max(1, x1 - x0), 28);
  }
  // where each row of the image begins
  ctx.fillStyle = "rgba(99, 102, 241, .75)";
  for (const start of flatten.starts) ctx.fillRect(Math.floor(start * width / n), 22, 1, 6);
}

function hoverStrip(event) {
  const p = state.prediction;
  if (!p) return;
  const rect = strip.getBoundingClientRect();
  const f = p.flatten;
  const i = Math.min(f.strip.length - 1, Math.max(0, Math.floor((event.clientX - rect.left) / rect.width * f.strip.length)));
  let row = 0;
  while (row + 1 < f.starts.length && f.starts[row + 1] <= i) row++;
  const col = i - f.starts[row];
  stripInfo.replaceChildren("input ", el("b", { text: String(i) }), ` is pixel (row ${row}, column ${col}) \u2014 value ${f.strip[i]} of 255`);
  highlightPixel([row, col]);
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

