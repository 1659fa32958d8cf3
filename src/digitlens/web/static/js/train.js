// The Train tab: settings, start/pause/stop, and the job's live events (Server-Sent Events from
// /api/train/events) drawn as curves, a progress bar with the time left, and the first layer's
// weight pictures. The server trains; this file only shows what it reports.

import { get, post, unpack } from "./api.js";
import { drawTiles, fixed, legend, maxAbs, percent } from "./colors.js";
import { lineChart } from "./chart.js";
import { el, emit, on, state, toast } from "./state.js";

let source = null;       // the EventSource
let run = null;          // what the current job reported
let drawQueued = false;

export function setup() {
  document.getElementById("train-form").addEventListener("submit", (event) => { event.preventDefault(); start(); });
  document.getElementById("train-pause").addEventListener("click", pauseOrResume);
  document.getElementById("train-stop").addEventListener("click", () => post("/api/train/stop").catch((e) => toast(e.message, "error")));
  document.getElementById("t-recipe").addEventListener("change", (event) => {
    if (event.target.value === "default") { setValue("t-rate", 0.003); setValue("t-batch", 128); }
    else { setValue("t-rate", 0.001); setValue("t-batch", 32); }
  });
  on("tab", (name) => { if (name === "train") { drawCharts(); if (!run || run.fromHistory) showCurrentModel(); } });
  on("model", () => { if ((!run || run.fromHistory) && state.tab === "train") showCurrentModel(); });
  window.addEventListener("resize", () => { if (state.tab === "train") drawCharts(); });
  drawCharts();
}

function setValue(id, value) { document.getElementById(id).value = value; }
function number(id) { return Number(document.getElementById(id).value); }

async function start() {
  const settings = {
    hidden_units: number("t-units"), activation: document.getElementById("t-activation").value,
    recipe: document.getElementById("t-recipe").value,
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
  watch();
}

export function resumeWatching() { watch(); }

function watch() {
  if (source) source.close();
  run = { points: [], epochs: [], stepsPerEpoch: 1, totalSteps: 1, state: "starting", weights: null };
  document.querySelector("#epoch-table tbody").replaceChildren();
  setButtons("starting");
  source = new EventSource("/api/train/events?since=0");
  const handle = (type, fn) => source.addEventListener(type, (event) => fn(JSON.parse(event.data)));
  handle("start", (e) => {
    run.stepsPerEpoch = e.steps_per_epoch;
    run.totalSteps = e.total_steps;
    run.epochsPlanned = e.epochs;
    run.settings = e.settings;
    run.state = "running";
    setButtons("running");
    showWeights(e.weights, "Random start: before any training every weight is a small random number (Glorot uniform), so each picture is noise.");
    status(`training ${e.samples.toLocaleString()} images in batches of ${e.settings.batch_size}: ${e.total_steps.toLocaleString()} steps`);
  });
  handle("progress", (e) => {
    for (const p of e.points) run.points.push(p);
    run.last = e;
    document.getElementById("train-bar").style.width = `${(100 * e.step / e.total_steps).toFixed(1)}%`;
    const loss = e.loss === null ? "not a number (the learning rate is too large: the weights overflowed)" : fixed(e.loss, 4);
    status(`epoch ${e.epoch + 1}/${run.epochsPlanned} \u00b7 step ${e.step.toLocaleString()}/${e.total_steps.toLocaleString()}` +
      ` \u00b7 loss ${loss} \u00b7 accuracy ${percent(e.accuracy, 2)} \u00b7 ${clock(e.eta)} left`);
    queueDraw();
  });
  handle("weights", (e) => showWeights(e.weights, `After ${e.step.toLocaleString()} steps: the weights take the shapes of strokes each neuron looks for.`));
  handle("epoch", (e) => {
    run.epochs.push(e);
    addEpochRow(e);
    queueDraw();
  });
  handle("state", (e) => {
    run.state = e.state;
    setButtons(e.state);
    // Jobs take turns on a shared server: position 1 starts next.
    if (e.state === "queued") status(e.position > 1 ? `waiting in line: ${e.position - 1} job${e.position > 2 ? "s" : ""} ahead of yours` : "waiting in line: yours starts next");
    if (e.state === "paused") status(`paused \u2014 ${document.getElementById("train-status").textContent.replace(/^paused \u2014 /, "")}`);
  });
  handle("done", (e) => {
    source.close();
    source = null;
    run.state = e.state;
    setButtons(e.state);
    if (e.state === "failed") { status(e.detail); toast(e.detail, "error", 10); return; }
    if (e.test_accuracy === undefined) { status(e.detail || e.state); return; }       // stopped while waiting
    if (e.replaced === false) { status(e.note); emit("model-changed"); return; }      // a file was loaded meanwhile
    document.getElementById("train-bar").style.width = e.state === "finished" ? "100%" : document.getElementById("train-bar").style.width;
    status(`${e.state === "stopped" ? "Stopped" : "Done"}: ${percent(e.test_accuracy, 2)} on the 10,000 test images (loss ${fixed(e.test_loss, 4)}). ` +
      "Every tab now uses this model; Save .keras keeps it." +
      (e.test_loss === null ? " Its loss is not a number: the learning rate was too large and the weights overflowed." : ""));
    emit("model-changed");
    queueDraw();
  });
  source.onerror = () => {
    if (source && source.readyState === EventSource.CLOSED) toast("lost the connection to the training job", "error");
  };
}

function setButtons(jobState) {
  const active = ["queued", "starting", "running", "paused", "stopping"].includes(jobState);
  document.getElementById("train-start").disabled = active;
  const pause = document.getElementById("train-pause");
  pause.disabled = !["running", "paused"].includes(jobState);
  pause.textContent = jobState === "paused" ? "Resume" : "Pause";
  document.getElementById("train-stop").disabled = !active || jobState === "stopping";
  document.getElementById("model-pill").classList.toggle("busy", active);
}

async function pauseOrResume() {
  try {
    await post(run && run.state === "paused" ? "/api/train/resume" : "/api/train/pause");
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
  document.querySelector("#epoch-table tbody").append(el("tr", {},
    el("td", { text: String(e.epoch + 1) }), cell(e.loss, (v) => fixed(v, 4)), cell(e.accuracy, (v) => percent(v, 2)),
    cell(e.val_loss, (v) => fixed(v, 4)), cell(e.val_accuracy, (v) => percent(v, 2)), cell(e.seconds, (v) => fixed(v, 1))));
}

function queueDraw() {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => { drawQueued = false; drawCharts(); });
}

// x positions in epochs: step s of the run sits at s / steps per epoch; an epoch's mean at its end.
function drawCharts() {
  const curve = document.getElementById("train-curve");
  const r = run || { points: [], epochs: [], stepsPerEpoch: 1, epochsPlanned: 1 };
  curve.dataset.points = String(r.points.length);
  curve.dataset.epochs = String(r.epochs.length);
  curve.dataset.source = r.fromHistory ? "history" : run ? "job" : "none";
  if (document.getElementById("panel-train").hidden) return;
  const per = r.stepsPerEpoch || 1;
  const xMax = r.epochsPlanned || 1;
  const batchLoss = r.points.map((p) => [p[0] / per, p[1]]);
  const batchAcc = r.points.map((p) => [p[0] / per, p[2]]);
  const smoothLoss = r.points.map((p) => [p[0] / per, p[3]]);      // moving averages from the server
  const smoothAcc = r.points.map((p) => [p[0] / per, p[4]]);
  const epochAt = (e) => e.step / per;
  const early = r.points.slice(0, 50).map((p) => p[1]).filter(Number.isFinite);
  const lossTop = Math.ceil(Math.min(3, Math.max(0.5, ...early)) * 2) / 2;   // the scale the first batches need
  lineChart(document.getElementById("chart-loss"), { title: "loss", xMax, yMax: lossTop, divisions: Math.round(lossTop * 2), format: (v) => v.toFixed(1), series: [
    { points: batchLoss, color: "#dfe3fb" },
    { points: smoothLoss, color: "#818cf8", width: 1.6 },
    { points: r.epochs.map((e) => [epochAt(e), e.loss]), color: "#4f46e5", width: 2.5, dots: true },
    { points: r.epochs.filter((e) => e.val_loss !== undefined).map((e) => [epochAt(e), e.val_loss]), color: "#f59e0b", width: 2, dots: true },
  ] });
  lineChart(document.getElementById("chart-acc"), { title: "accuracy", xMax, yMax: 1, format: (v) => `${Math.round(v * 100)}%`, series: [
    { points: batchAcc, color: "#dfe3fb" },
    { points: smoothAcc, color: "#818cf8", width: 1.6 },
    { points: r.epochs.map((e) => [epochAt(e), e.accuracy]), color: "#4f46e5", width: 2.5, dots: true },
    { points: r.epochs.filter((e) => e.val_accuracy !== undefined).map((e) => [epochAt(e), e.val_accuracy]), color: "#f59e0b", width: 2, dots: true },
  ] });
}

function showWeights(packed, note) {
  const w = unpack(packed);
  if (!w) return;
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
    if (!run || run.fromHistory) showWeights(r.weights, "The current model's first-layer weights: the first 64 hidden neurons, each as the 28\u00d728 picture of its 784 incoming weights. Train to watch them form from random noise.");
  } catch (error) {
    /* no first layer wired to pixels: nothing to show */
  }
  let history = null;
  try {
    history = (await get("/api/model")).history;
  } catch (error) {
    return;
  }
  if (run && !run.fromHistory) return;           // a job started meanwhile
  document.querySelector("#epoch-table tbody").replaceChildren();
  if (!history) { run = null; drawCharts(); status("The trained model replaces the one the other tabs use."); return; }
  const b = history.batch, e = history.epoch;
  run = { fromHistory: true, stepsPerEpoch: 1, epochsPlanned: Math.max(1, ...e.x),
    points: b.x.map((x, i) => [x, b.loss[i], b.accuracy[i], b.smoothed_loss[i], b.smoothed_accuracy[i]]),
    epochs: e.x.map((x, i) => ({ epoch: i, step: x, loss: e.loss[i], accuracy: e.accuracy && e.accuracy[i],
      val_loss: e.val_loss && e.val_loss[i], val_accuracy: e.val_accuracy && e.val_accuracy[i], seconds: e.seconds && e.seconds[i] })) };
  run.epochs.forEach(addEpochRow);
  status("These curves show how the current model was trained. Train a new one from random weights:");
  drawCharts();
}
