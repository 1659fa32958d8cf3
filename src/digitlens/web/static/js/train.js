// The Train tab: settings (any number of hidden layers), start/pause/stop, and the job's live events
// (Server-Sent Events from /api/train/events) drawn as curves, a progress bar with the time left,
// and the first layer's weight pictures. The server trains; this file only shows what it reports.
//
// When a job ends its model replaces the one every tab uses, but the one before is kept until the
// learner keeps the new one: "Undo" goes back to it (/api/train/undo, /api/train/keep). The job
// records a training timeline, which the replay below the curves (timeline.js) shows afterwards.

import { get, post, unpack } from "./api.js";
import { drawTiles, fixed, legend, maxAbs, percent } from "./colors.js";
import { lineChart } from "./chart.js";
import { createLayerEditor } from "./layereditor.js";
import { emit, el, on, plural, state, toast, unavailable } from "./state.js";

const TEST_COLOUR = "#0f766e";     // the test set: teal here and in the reports (orange is the prediction)
let layers = null;       // the editor of the network's hidden layers
let source = null;       // the EventSource
let run = null;          // what the current job reported
let drawQueued = false;

export function setup() {
  document.getElementById("train-form").addEventListener("submit", (event) => { event.preventDefault(); start(); });
  document.getElementById("train-pause").addEventListener("click", pauseOrResume);
  document.getElementById("train-stop").addEventListener("click", () => post("/api/train/stop").catch((e) => toast(e.message, "error")));
  document.getElementById("train-keep").addEventListener("click", keep);
  document.getElementById("train-undo").addEventListener("click", undo);
  document.getElementById("train-accept").addEventListener("click", accept);
  document.getElementById("t-recipe").addEventListener("change", (event) => {
    if (event.target.value === "default") { setValue("t-rate", 0.008); setValue("t-batch", 128); }
    else { setValue("t-rate", 0.001); setValue("t-batch", 32); }
  });
  on("tab", (name) => { if (name === "train") { drawCharts(); if (!run || run.fromHistory) showCurrentModel(); } });
  on("model", () => {
    showDecision();
    if ((!run || run.fromHistory) && state.tab === "train") showCurrentModel();
  });
  window.addEventListener("resize", () => { if (state.tab === "train") drawCharts(); });
  layers = createLayerEditor(document.getElementById("t-layers"), document.getElementById("t-add-layer"),
    [{ units: 256, activation: "relu" }]);
  drawCharts();
}

function setValue(id, value) { document.getElementById(id).value = value; }
function number(id) { return Number(document.getElementById(id).value); }

// ---- a job ----------------------------------------------------------------------------------

async function start() {
  const settings = {
    hidden: layers.settings(), recipe: document.getElementById("t-recipe").value,
    // "sgd-momentum" is plain SGD with a running velocity of 0.9; "sgd" alone is plain SGD, as in Keras.
    optimizer: document.getElementById("t-optimizer").value.replace("-momentum", ""),
    momentum: document.getElementById("t-optimizer").value === "sgd-momentum" ? 0.9 : 0,
    epochs: number("t-epochs"), batch_size: number("t-batch"), learning_rate: number("t-rate"),
    samples: number("t-samples"),
  };
  try {
    await post("/api/train", settings);
  } catch (error) {
    toast(error.message, "error", 8);
    return;
  }
  document.getElementById("train-decision").hidden = true;
  watch();
}

export function resumeWatching() { watch(); }

function watch() {
  if (source) source.close();
  run = { points: [], epochs: [], stepsPerEpoch: 1, totalSteps: 1, state: "starting", weights: null, divergedAt: null, last: null };
  document.querySelector("#epoch-table tbody").replaceChildren();
  setButtons("starting");
  source = new EventSource("/api/train/events?since=0");
  const handle = (type, fn) => source.addEventListener(type, (event) => fn(JSON.parse(event.data)));
  handle("start", (e) => {
    run.stepsPerEpoch = e.steps_per_epoch;
    run.totalSteps = e.total_steps;
    run.epochsPlanned = e.epochs;
    run.settings = e.settings;
    if (run.state === "starting") run.state = "running";
    setButtons(run.state);
    showWeights(e.weights, "Random start: before any training every weight is a small random number (Glorot uniform), so each picture is noise.");
    status(`training ${e.samples.toLocaleString()} images in batches of ${e.settings.batch_size}: ${plural(e.total_steps, "step")}`);
  });
  handle("progress", (e) => {
    for (const p of e.points) run.points.push(p);
    run.last = e;
    if (e.diverged_at !== null && e.diverged_at !== undefined) run.divergedAt = e.diverged_at;
    setProgress(e.step / e.total_steps);
    showProgress();
    queueDraw();
  });
  handle("weights", (e) => { if (e.weights) showWeights(e.weights, `After ${plural(e.step, "step")}: the weights take the shapes of strokes each neuron looks for.`); });
  handle("epoch", (e) => {
    run.epochs.push(e);
    addEpochRow(e);
    queueDraw();
  });
  handle("state", (e) => {
    run.state = e.state;
    setButtons(e.state);
    // Jobs take turns on a shared server: position 1 starts next.
    if (e.state === "queued") {
      status(e.position > 1 ? `waiting in line: ${e.position - 1} job${e.position > 2 ? "s" : ""} ahead of yours` : "waiting in line: yours starts next");
      return;
    }
    showProgress();
  });
  handle("done", (e) => {
    source.close();
    source = null;
    run.state = e.state;
    setButtons(e.state);
    if (e.state === "failed") { status(e.detail); toast(e.detail, "error", 10); return; }
    if (e.test_accuracy === undefined) { status(e.detail || e.state); return; }       // stopped while waiting
    if (e.replaced === false) {                      // a file was loaded meanwhile: it stays until asked
      status(e.note.split(" (POST")[0] + ".");
      document.getElementById("train-unclaimed").hidden = false;
      emit("model-changed");
      return;
    }
    if (e.state === "finished") setProgress(1);
    if (e.diverged_at !== null && e.diverged_at !== undefined) run.divergedAt = e.diverged_at;
    const how = e.state === "stopped" ? `Stopped after ${plural(e.steps ?? run.points.length, "step")}` : "Done";
    status(`${how}: ${percent(e.test_accuracy, 2)} on the test images (loss ${fixed(e.test_loss, 4)}). ` +
      "Every tab now uses this model: keep it, or undo to go back to the one before." +
      (run.divergedAt !== null ? ` It diverged at step ${run.divergedAt.toLocaleString()}: the loss stopped being a number ` +
        "(the learning rate is too large and the weights overflowed)." : ""));
    emit("model-changed");
    queueDraw();
  });
  source.onerror = () => {
    if (source && source.readyState === EventSource.CLOSED) toast("lost the connection to the training job", "error");
  };
}

function setProgress(fraction) {
  const percentDone = Math.round(1000 * Math.min(1, fraction)) / 10;
  document.getElementById("train-bar").style.width = `${percentDone}%`;
  document.getElementById("train-progress").setAttribute("aria-valuenow", String(percentDone));
}

function showProgress() {
  const e = run && run.last;
  const paused = run && run.state === "paused";
  document.getElementById("train-progress").classList.toggle("paused", !!paused);
  if (!e) { if (paused) status("paused"); return; }
  const loss = e.loss === null ? "not a number" : fixed(e.loss, 4);
  const where = `epoch ${e.epoch + 1}/${run.epochsPlanned} \u00b7 step ${e.step.toLocaleString()}/${e.total_steps.toLocaleString()}`;
  if (paused) {
    status(`Paused at ${where}. Time spent paused does not count as training time. Resume to go on.`);
    return;
  }
  if (run.state === "stopping") { status(`Stopping after this step (${where})\u2026`); return; }
  status(`${where} \u00b7 loss ${loss} \u00b7 accuracy ${percent(e.accuracy, 2)} \u00b7 ${clock(e.eta)} left` +
    (run.divergedAt !== null ? ` \u00b7 diverged at step ${run.divergedAt.toLocaleString()}` : ""));
}

function setButtons(jobState) {
  const active = ["queued", "starting", "running", "paused", "stopping"].includes(jobState);
  document.getElementById("train-start").disabled = active;
  const pause = document.getElementById("train-pause");
  pause.disabled = !["running", "paused"].includes(jobState);
  pause.textContent = jobState === "paused" ? "Resume" : "Pause";
  document.getElementById("train-stop").disabled = !active || jobState === "stopping";
  document.getElementById("model-pill").classList.toggle("busy", active);
  emit("training-active", active);       // the replay of the model before the job steps aside (timeline.js)
}

async function pauseOrResume() {
  try {
    await post(run && run.state === "paused" ? "/api/train/resume" : "/api/train/pause");
  } catch (error) {
    toast(error.message, "error");
  }
}

// The choice after a job: keep its model, or go back to the one before (while that is possible).
function showDecision() {
  const box = document.getElementById("train-decision");
  const undo = !!(state.training && state.training.undo);
  box.hidden = !undo;
}

async function keep() {
  try {
    await post("/api/train/keep");
    document.getElementById("train-decision").hidden = true;
    status("Kept: every tab uses the model you trained; Save .keras writes it to a file.");
    emit("model-changed");
  } catch (error) {
    toast(error.message, "error");
  }
}

async function accept() {
  try {
    const r = await post("/api/train/accept");
    document.getElementById("train-unclaimed").hidden = true;
    status(`Loaded: every tab now uses the model you trained (${r.origin}); undo goes back to the one before.`);
    emit("model-changed");
  } catch (error) {
    toast(error.message, "error");
  }
}

async function undo() {
  try {
    const r = await post("/api/train/undo");
    document.getElementById("train-decision").hidden = true;
    status(`Undone: every tab is back to the model from before (${r.origin}).`);
    emit("model-changed");
  } catch (error) {
    toast(error.message, "error");
  }
}

function status(text) {
  document.getElementById("train-status").textContent = text;
}

function clock(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  const m = Math.floor(seconds / 60), s = seconds % 60;
  return `${m}:${String(s).padStart(2, "0")}`;
}

function addEpochRow(e) {
  const cell = (v, f) => el("td", { text: v === undefined || v === null ? "\u2013" : f(v) });
  const partial = e.partial ? el("span", { class: "partial", text: ` partial: ${e.epoch_steps.toLocaleString()} of ${plural(e.steps_per_epoch, "step")}` }) : null;
  document.querySelector("#epoch-table tbody").append(el("tr", { class: e.partial ? "partial-row" : null },
    el("th", { scope: "row" }, String(e.epoch + 1), partial), cell(e.loss, (v) => fixed(v, 4)), cell(e.accuracy, (v) => percent(v, 2)),
    cell(e.val_loss, (v) => fixed(v, 4)), cell(e.val_accuracy, (v) => percent(v, 2)), cell(e.seconds, (v) => fixed(v, 1))));
}

function queueDraw() {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => { drawQueued = false; drawCharts(); });
}

// A round number at or above the largest finite value, and how many grid lines divide it evenly:
// the loss axis fits what it shows (a diverging run's huge losses too).
const NICE = [[1, 5], [1.5, 3], [2, 4], [2.5, 5], [3, 3], [4, 4], [5, 5], [6, 3], [8, 4], [10, 5]];
function niceTop(values, floor) {
  let top = floor;
  for (const v of values) if (Number.isFinite(v) && v > top) top = v;
  const magnitude = 10 ** Math.floor(Math.log10(top));
  const [m, divisions] = NICE.find(([n]) => n * magnitude >= top * 1.02);
  return { top: m * magnitude, divisions };
}

// x positions in epochs: step s of the run sits at s / steps per epoch; an epoch's mean at its end.
function drawCharts() {
  const curve = document.getElementById("train-curve");
  const r = run || { points: [], epochs: [], stepsPerEpoch: 1, epochsPlanned: 1 };
  curve.dataset.points = String(r.points.length);
  curve.dataset.epochs = String(r.epochs.length);
  curve.dataset.source = r.fromHistory ? "history" : run ? "job" : "none";
  curve.dataset.diverged = r.divergedAt !== null && r.divergedAt !== undefined ? String(r.divergedAt) : "";
  if (document.getElementById("panel-train").hidden) return;
  const per = r.stepsPerEpoch || 1;
  const xMax = r.epochsPlanned || 1;
  const batchLoss = r.points.map((p) => [p[0] / per, p[1]]);
  const batchAcc = r.points.map((p) => [p[0] / per, p[2]]);
  const smoothLoss = r.points.map((p) => [p[0] / per, p[3]]);      // moving averages from the server
  const smoothAcc = r.points.map((p) => [p[0] / per, p[4]]);
  const epochAt = (e) => e.step / per;
  const { top: lossTop, divisions } = niceTop([...r.points.map((p) => p[1]), ...r.epochs.map((e) => e.loss), ...r.epochs.map((e) => e.val_loss)], 0.5);
  const marks = r.divergedAt ? [{ x: r.divergedAt / per, label: `diverged at step ${r.divergedAt.toLocaleString()}`, color: "#b91c1c" }] : [];
  const lossCanvas = document.getElementById("chart-loss");
  lineChart(lossCanvas, { title: "loss", xMax, yMax: lossTop, divisions, marks,
    format: (v) => (lossTop >= 1000 ? v.toExponential(1) : Number(v.toPrecision(3)).toString()), series: [
      { points: batchLoss, color: "#c7cdf7" },
      { points: smoothLoss, color: "#6366f1", width: 1.6 },
      { points: r.epochs.map((e) => [epochAt(e), e.loss]), color: "#3730a3", width: 2.5, dots: true },
      { points: r.epochs.filter((e) => e.val_loss !== undefined).map((e) => [epochAt(e), e.val_loss]), color: TEST_COLOUR, width: 2, dots: true },
    ] });
  lineChart(document.getElementById("chart-acc"), { title: "accuracy", xMax, yMax: 1, marks, format: (v) => `${Math.round(v * 100)}%`, series: [
    { points: batchAcc, color: "#c7cdf7" },
    { points: smoothAcc, color: "#6366f1", width: 1.6 },
    { points: r.epochs.map((e) => [epochAt(e), e.accuracy]), color: "#3730a3", width: 2.5, dots: true },
    { points: r.epochs.filter((e) => e.val_accuracy !== undefined).map((e) => [epochAt(e), e.val_accuracy]), color: TEST_COLOUR, width: 2, dots: true },
  ] });
  const last = r.epochs[r.epochs.length - 1];
  const smooth = r.points.length ? r.points[r.points.length - 1][3] : null;
  lossCanvas.setAttribute("aria-label", r.points.length
    ? `loss over ${plural(r.points.length, "batch", "batches")}: now about ${fixed(smooth, 3)}` +
      (last ? `; after epoch ${last.epoch + 1}, ${fixed(last.loss, 3)} on the training images, ${fixed(last.val_loss, 3)} on the test set` : "") +
      (r.divergedAt ? `; diverged at step ${r.divergedAt}` : "")
    : "loss: nothing yet");
  document.getElementById("chart-acc").setAttribute("aria-label", last
    ? `accuracy after epoch ${last.epoch + 1}: ${percent(last.accuracy, 1)} on the training images, ${percent(last.val_accuracy, 1)} on the test set`
    : r.points.length ? `accuracy of the last batch: ${percent(r.points[r.points.length - 1][2], 1)}` : "accuracy: nothing yet");
}

function showWeights(packed, note) {
  const w = unpack(packed);
  if (!w) return;
  unavailable(document.getElementById("train-weights"), null, [document.getElementById("train-weights-legend")]);
  const limit = Number.isFinite(packed.limit) && packed.limit > 0 ? packed.limit : maxAbs(w.data) || 1e-9;
  drawTiles(document.getElementById("train-weights"), w.data, w.shape[0], { cols: Math.ceil(Math.sqrt(w.shape[0])), limit });
  legend(document.getElementById("train-weights-legend"), limit, 2);
  document.getElementById("weights-note").textContent = note;
}

// Before any job: the current model's weights, and its training curves if it remembers them
// (explain.history.curves, via /api/model).
async function showCurrentModel() {
  if (!state.model) return;
  try {
    const r = await get("/api/weights?count=64");
    if (!run || run.fromHistory) showWeights(r.weights, "The current model's first-layer weights: the first 64 neurons of the first hidden layer, each as the 28\u00d728 picture of its 784 incoming weights. Train to watch them form from random noise.");
  } catch (error) {
    // no first layer wired to the pixels (a CNN): say so in the pictures' place
    if (!run || run.fromHistory) {
      unavailable(document.getElementById("train-weights"), error.message, [document.getElementById("train-weights-legend")]);
      document.getElementById("weights-note").textContent = "";
    }
  }
  let history = null;
  try {
    history = (await get("/api/model")).history;
  } catch (error) {
    return;
  }
  if (run && !run.fromHistory) return;           // a job started meanwhile
  document.querySelector("#epoch-table tbody").replaceChildren();
  if (!history) { run = null; drawCharts(); return; }
  const b = history.batch, e = history.epoch;
  run = { fromHistory: true, stepsPerEpoch: 1, epochsPlanned: Math.max(1, ...e.x), divergedAt: null,
    points: b.x.map((x, i) => [x, b.loss[i], b.accuracy[i], b.smoothed_loss[i], b.smoothed_accuracy[i]]),
    epochs: e.x.map((x, i) => ({ epoch: i, step: x, loss: e.loss[i], accuracy: e.accuracy && e.accuracy[i],
      val_loss: e.val_loss && e.val_loss[i], val_accuracy: e.val_accuracy && e.val_accuracy[i], seconds: e.seconds && e.seconds[i] })) };
  run.epochs.forEach(addEpochRow);
  if (!state.training || !state.training.undo) status("These curves show how the current model was trained. Train a new one from random weights:");
  drawCharts();
}
