// The Train tab's replay of how the current model learned: its training timeline (/api/timeline),
// snapshot by snapshot - the first layer's recorded neurons, each output's template, and what the
// network said about each probe image - with a slider and a Play button. "Watch neuron N learn"
// shows one neuron at every recorded step (/api/timeline/neuron/N); "watch this digit get
// recognised" one probe image's probabilities over the steps. Everything drawn is a number the API
// sent; a model without a timeline (one loaded from a file Keras wrote) shows no replay.

import { get, unpack } from "./api.js";
import { lineChart } from "./chart.js";
import { drawDiverging, drawGray, drawTiles, legend, percent } from "./colors.js";
import { className, el, on, plural, state, toast } from "./state.js";

const PLAY_MS = 700;             // per snapshot while playing
const COLS = 8;                  // neurons per row of the weights picture
const RIGHT = "#16a34a";         // the right digit: green, as in the reports' probe pictures
let root, slider, words, weightsCanvas, templatesCanvas, probesBox, focusBox, neuronSelect, playButton;
let info = null;                 // /api/timeline of the model shown
let loadedFor = -1;              // the model version it belongs to
const snapshots = new Map();     // k -> the promise of /api/timeline/snapshot/k
let k = 0;
let focus = null;                // {kind: "neuron", neuron, film} or {kind: "probe", index}
let timer = null;
let training = false;            // a job is running: the replay of the model before it is put away

export function setup() {
  root = document.getElementById("train-replay");
  slider = document.getElementById("replay-slider");
  words = document.getElementById("replay-words");
  weightsCanvas = document.getElementById("replay-weights");
  templatesCanvas = document.getElementById("replay-templates");
  probesBox = document.getElementById("replay-probes");
  focusBox = document.getElementById("replay-focus");
  neuronSelect = document.getElementById("replay-neuron");
  playButton = document.getElementById("replay-play");
  slider.addEventListener("input", () => { stop(); go(Number(slider.value)); });
  playButton.addEventListener("click", () => (timer ? stop() : play()));
  neuronSelect.addEventListener("change", () => { if (neuronSelect.value !== "") watchNeuron(Number(neuronSelect.value)); });
  weightsCanvas.addEventListener("click", (event) => {
    if (!info) return;
    const scale = weightsCanvas.width / weightsCanvas.clientWidth;
    const col = Math.floor((event.offsetX * scale - 1) / 29), row = Math.floor((event.offsetY * scale - 1) / 29);
    const slot = row * COLS + col;
    if (col >= 0 && col < COLS && slot >= 0 && slot < info.neurons.length) watchNeuron(info.neurons[slot]);
  });
  on("model", () => load());
  on("tab", (name) => { if (name === "train") load(); else stop(); });
  on("training-active", (active) => {
    training = active;
    if (active) stop();
    root.hidden = active || !info;
  });
  window.addEventListener("resize", () => { if (focus && focus.kind === "probe" && state.tab === "train") showProbe(); });
}

// The current model's timeline, fetched when the Train tab is shown (once per model version).
async function load() {
  const model = state.model;
  if (!model || !model.timeline) { info = null; loadedFor = state.version; root.hidden = true; stop(); return; }
  if (state.tab !== "train" || loadedFor === state.version) return;
  loadedFor = state.version;
  stop();
  snapshots.clear();
  focus = null;
  let r;
  try {
    r = await get("/api/timeline");
  } catch (error) {
    info = null;
    root.hidden = true;
    toast(error.message, "error");
    return;
  }
  if (r.version !== state.version) return;            // another model meanwhile: its own load follows
  info = r;
  build();
  root.hidden = training;
  await go(info.snapshots - 1);
}

function build() {
  slider.max = String(info.snapshots - 1);
  const steps = info.steps.map((s) => s.toLocaleString());
  document.getElementById("replay-note").textContent = `This model recorded ${plural(info.snapshots, "snapshot")} of itself while it ` +
    `trained, at steps ${steps.join(", ")} (log-spaced, and each epoch's end). Move the slider, or press Play, to watch it go ` +
    "from random weights to the trained network.";
  neuronSelect.replaceChildren(el("option", { value: "", text: "choose a neuron" }),
    ...info.neurons.map((j) => el("option", { value: String(j), text: `neuron ${j}` })));
  const units = state.model.hidden.length ? state.model.hidden[0].units : info.neurons.length;
  const which = info.neurons.length === units ? `All ${units} neurons` : `${info.neurons.length} of the ${units} neurons, spread evenly,`;
  document.getElementById("replay-weights-note").textContent = `${which} of ${info.layer}, each the 28\u00d728 picture of its ` +
    "incoming weights, all on this snapshot's scale. Click one, or choose it below, to watch it learn.";
  probesBox.replaceChildren(...info.probes.map((probe, i) => {
    const canvas = el("canvas", { width: 28, height: 28 });
    drawGray(canvas, probe.image);
    // its name is what it shows ("a 9 (hard)", "97%") with the words a screen reader needs between
    return el("button", { type: "button", class: `probe${probe.typical ? "" : " hard"}`, "data-testid": `probe-${i}`,
      "aria-pressed": "false", title: `test image #${probe.index}: watch it get recognised`, onclick: () => watchProbe(i) },
      canvas, el("span", { class: "visually-hidden", text: `test image #${probe.index}, ` }),
      el("span", { class: "probe-label", text: `a ${className(probe.label)}${probe.typical ? "" : " (hard)"}` }),
      el("span", { class: "visually-hidden", text: `: p(${className(probe.label)}) = ` }),
      el("span", { class: "bar", "aria-hidden": "true" }, el("span")), el("span", { class: "probe-p", text: "\u2013" }),
      el("span", { class: "visually-hidden probe-said" }));
  }));
  focusBox.replaceChildren(el("p", { class: "muted small", text: "Click a neuron or a probe image to follow it through the steps." }));
}

function snapshot(j) {
  if (!snapshots.has(j)) {
    const promise = get(`/api/timeline/snapshot/${j}`);
    promise.catch(() => snapshots.delete(j));         // asked again next time
    snapshots.set(j, promise);
  }
  return snapshots.get(j);
}

// Show snapshot j: its pictures, its probe bars, and where the followed neuron or probe is.
async function go(j) {
  if (!info) return;
  k = Math.max(0, Math.min(info.snapshots - 1, j));
  slider.value = String(k);
  slider.setAttribute("aria-valuetext", info.words[k]);
  words.textContent = info.words[k];
  let s;
  try {
    s = await snapshot(k);
  } catch (error) {
    toast(error.message, "error");
    return;
  }
  if (s.k !== k || s.version !== info.version) return;      // the slider moved on meanwhile
  const w = unpack(s.weights);
  drawTiles(weightsCanvas, w.data, w.shape[0], { cols: COLS, limit: s.weights.limit });
  outlineNeuron();
  legend(document.getElementById("replay-weights-legend"), s.weights.limit, 2);
  const t = unpack(s.templates);
  drawTiles(templatesCanvas, t.data, t.shape[0], { cols: 5, limit: s.templates.limit });
  legend(document.getElementById("replay-templates-legend"), s.templates.limit, 2);
  weightsCanvas.setAttribute("aria-label", `the ${w.shape[0]} recorded neurons' weights at ${info.words[k]}`);
  templatesCanvas.setAttribute("aria-label", `each output's template at ${info.words[k]}`);
  showProbeBars();
  if (focus && focus.kind === "neuron") markFilm();
  if (focus && focus.kind === "probe") showProbe();
  root.dataset.k = String(k);
  root.dataset.step = String(s.step);
}

function showProbeBars() {
  const probs = info.probabilities[k];
  info.probes.forEach((probe, i) => {
    const button = probesBox.children[i];
    const p = probs[i][probe.label];
    const said = argmax(probs[i]);
    button.classList.toggle("right", said === probe.label);
    button.querySelector(".bar span").style.width = `${(100 * p).toFixed(1)}%`;
    button.querySelector(".probe-p").textContent = percent(p, 0);
    button.querySelector(".probe-said").textContent = `, read as ${className(said)}`;
  });
}

function argmax(values) {
  let best = 0;
  values.forEach((v, i) => { if (v > values[best]) best = i; });
  return best;
}

function play() {
  if (!info) return;
  if (k >= info.snapshots - 1) go(0);
  playButton.textContent = "Pause";
  playButton.setAttribute("aria-pressed", "true");
  timer = setInterval(() => {
    if (k >= info.snapshots - 1) { stop(); return; }
    go(k + 1);
    if (k + 1 < info.snapshots) snapshot(k + 1);          // fetched while this one shows
  }, PLAY_MS);
}

function stop() {
  if (timer) clearInterval(timer);
  timer = null;
  if (playButton) { playButton.textContent = "Play"; playButton.setAttribute("aria-pressed", "false"); }
}

// ---- watch neuron N learn -----------------------------------------------------------------------

async function watchNeuron(neuron) {
  neuronSelect.value = String(neuron);
  probesBox.querySelectorAll(".probe").forEach((b) => b.setAttribute("aria-pressed", "false"));
  let r;
  try {
    r = await get(`/api/timeline/neuron/${neuron}`);
  } catch (error) {
    toast(error.message, "error");
    return;
  }
  if (!info || r.version !== info.version) return;
  const pictures = unpack(r.weights);
  const frames = r.steps.map((step, j) => {
    const canvas = el("canvas", { width: 28, height: 28 });
    drawDiverging(canvas, pictures.data, 28, 28, r.weights.limits[j], j * 784);
    return el("button", { type: "button", class: "film-frame", "data-k": j, "aria-label": `neuron ${neuron} at ${r.words[j]}`,
      onclick: () => { stop(); go(j); } }, canvas, el("span", { text: step.toLocaleString() }));
  });
  focus = { kind: "neuron", neuron, film: frames };
  focusBox.dataset.kind = "neuron";
  focusBox.dataset.neuron = String(neuron);
  go(k);                                                    // outlined in the grid
  focusBox.replaceChildren(
    el("h3", { text: `Watch neuron ${neuron} of ${r.layer} learn` }),
    el("p", { class: "muted small", text: "Its 784 incoming weights at every recorded step, each picture on its own scale " +
      "(the first ones are tiny random numbers). Blue: ink there raises its weighted sum; red: lowers it. Click a step to go there." }),
    el("div", { class: "film", "data-testid": "neuron-film" }, ...frames));
  markFilm();
}

// The followed neuron's tile, outlined in the grid of all recorded neurons.
function outlineNeuron() {
  if (!focus || focus.kind !== "neuron") return;
  const slot = info.neurons.indexOf(focus.neuron);
  const ctx = weightsCanvas.getContext("2d");
  ctx.strokeStyle = "#4f46e5";
  ctx.lineWidth = 1;
  ctx.strokeRect((slot % COLS) * 29 + 0.5, Math.floor(slot / COLS) * 29 + 0.5, 29, 29);
}

function markFilm() {
  focus.film.forEach((frame, j) => {
    frame.classList.toggle("current", j === k);
    if (j === k) frame.setAttribute("aria-current", "step"); else frame.removeAttribute("aria-current");
  });
}

// ---- watch this digit get recognised -------------------------------------------------------------

function watchProbe(i) {
  focus = { kind: "probe", index: i };
  neuronSelect.value = "";
  probesBox.querySelectorAll(".probe").forEach((b, j) => b.setAttribute("aria-pressed", String(j === i)));
  const probe = info.probes[i];
  const canvas = el("canvas", { width: 28, height: 28, class: "probe-big" });
  drawGray(canvas, probe.image);
  focusBox.dataset.kind = "probe";
  focusBox.dataset.probe = String(i);
  focusBox.replaceChildren(
    el("h3", { text: `Watch test image #${probe.index} (a ${className(probe.label)}) get recognised` }),
    el("div", { class: "probe-focus" }, canvas,
      el("div", { class: "chart" }, el("canvas", { id: "replay-chart", height: 200, role: "img" }))),
    el("p", { class: "muted small", id: "replay-probe-words" }),
    el("div", { class: "probe-classes", id: "replay-probe-classes" }));
  showProbe();
}

function showProbe() {
  const i = focus.index, probe = info.probes[i];
  const series = info.class_names.map((_, c) => ({
    points: info.probabilities.map((probs, j) => [j, probs[i][c]]),
    color: c === probe.label ? RIGHT : "#c3c8d4", width: c === probe.label ? 2.5 : 1, dots: c === probe.label }));
  series.push(series.splice(probe.label, 1)[0]);            // the right digit's line on top
  const chart = document.getElementById("replay-chart");
  lineChart(chart, { title: `p(each digit) for this ${className(probe.label)}`, xMax: Math.max(1, info.snapshots - 1), yMax: 1,
    xLabel: "recorded step", format: (v) => `${Math.round(v * 100)}%`, series,
    ticks: info.steps.map((s, j) => [j, s.toLocaleString()]),
    marks: [{ x: k, label: `step ${info.steps[k].toLocaleString()}`, color: "#4f46e5" }] });
  const probs = info.probabilities[k][i];
  const said = argmax(probs);
  const text = `At step ${info.steps[k].toLocaleString()}: p(${className(probe.label)}) = ${percent(probs[probe.label])}, ` +
    `read as ${className(said)}` + (said === probe.label ? " (right)." : " (wrong).");
  chart.setAttribute("aria-label", `the probability of each digit for test image #${probe.index} at every recorded step; ${text}`);
  document.getElementById("replay-probe-words").textContent = text;
  document.getElementById("replay-probe-classes").replaceChildren(...probs.map((p, c) => el("div", {
    class: `probe-class${c === probe.label ? " label" : ""}${c === said ? " said" : ""}` },
    el("b", { text: className(c) }), el("span", { class: "bar", "aria-hidden": "true" }, el("span", { style: `width:${(100 * p).toFixed(1)}%` })),
    el("span", { text: percent(p) }))));
}
