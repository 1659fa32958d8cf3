// LiveTraining's view (digitlens.notebook.LiveTraining): the progress bar and time left, the loss
// and accuracy curves, the first layer's weight pictures and the Stop button. Draws the numbers
// Python sends (notebook/live.py) with the web app's chart and colours.

import { lineChart } from "../../web/static/js/chart.js";
import { drawTiles, fixed, legend, percent, setColors } from "../../web/static/js/colors.js";
import { el } from "../../web/static/js/state.js";
import { floats, widgetRoot } from "./view.js";

const WORDS = { running: "training", stopping: "stopping after this step\u2026", stopped: "stopped", finished: "finished" };

function seconds(s) {
  if (s === null || s === undefined || !Number.isFinite(s)) return "\u2013";
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - 60 * m)} s`;
}

function render({ model, el: host }) {
  const root = widgetRoot("dl-live");
  const stateText = el("span", { class: "dl-state", "data-testid": "state" });
  const bar = el("span");
  const counts = el("span", { class: "dl-note" });
  const stop = el("button", { type: "button", class: "dl-button primary", text: "Stop", "data-testid": "stop",
    onclick: () => { stop.disabled = true; model.send({ type: "stop" }); } });
  const lossChart = el("canvas", { class: "dl-chart", "data-testid": "loss-chart" });
  const accuracyChart = el("canvas", { class: "dl-chart", "data-testid": "accuracy-chart" });
  const tiles = el("canvas", { class: "dl-tiles", "data-testid": "weights" });
  const tilesNote = el("div", { class: "dl-note" });
  const tilesLegend = el("div", { class: "dl-legend" });
  const table = el("table", { class: "dl-epochs" });
  const note = el("div", { class: "dl-note" });
  root.append(
    el("div", { class: "dl-progress" }, stateText, el("div", { class: "dl-progress-bar" }, bar), counts, stop),
    el("div", { class: "dl-charts" }, lossChart, accuracyChart),
    el("div", { class: "dl-row" },
      el("div", {}, el("h4", { text: "the first layer's weights, as they learn" }), tiles, tilesLegend, tilesNote),
      el("div", { class: "dl-scroll" }, el("h4", { text: "every epoch" }), table)),
    note);
  host.appendChild(root);

  function progress() {
    const s = model.get("setup") || {}, p = model.get("progress") || {};
    if (!p.state) return;
    if (s.colors) setColors(s.colors);
    root.dataset.state = p.state;
    root.dataset.done = String(p.done);
    root.dataset.points = String(p.points);
    stateText.textContent = WORDS[p.state] || p.state;
    bar.style.width = `${p.total ? (100 * p.done / p.total).toFixed(1) : 0}%`;
    const running = p.state === "running" || p.state === "stopping";
    counts.textContent = `epoch ${p.epoch}/${s.epochs} \u00b7 step ${p.step}/${s.steps} \u00b7 ${p.done.toLocaleString()} of ${p.total.toLocaleString()} batches of ${s.batch_size}`
      + ` \u00b7 ${seconds(p.elapsed)}` + (running ? ` \u00b7 ${seconds(p.eta)} left` : "")
      + (p.loss !== null && p.loss !== undefined ? ` \u00b7 loss ${fixed(p.loss, 4)}` : "")
      + (p.accuracy !== null && p.accuracy !== undefined ? ` \u00b7 accuracy ${percent(p.accuracy, 2)}` : "");
    stop.disabled = p.state !== "running";
    stop.hidden = !running;
    note.textContent = p.reason ? `Stopped by ${p.reason}: fit ended cleanly after ${p.done.toLocaleString()} steps (model.stop_training).`
      : (running && !p.listening ? "The Stop button needs a kernel digitlens can listen to while a cell runs; interrupting the kernel stops training cleanly too." : "");
    const keys = ["loss", "accuracy", "val_loss", "val_accuracy", "seconds"].filter((k) => p.epochs.some((e) => e[k] !== undefined));
    table.replaceChildren(el("tr", {}, el("th", { text: "epoch" }), ...keys.map((k) => el("th", { text: k }))),
      ...p.epochs.map((e) => el("tr", {}, el("td", { text: String(e.epoch) }),
        ...keys.map((k) => el("td", { text: k === "seconds" ? fixed(e[k], 1) : k.includes("accuracy") ? percent(e[k], 2) : fixed(e[k], 4) })))));
    curves();
  }

  function curves() {
    const s = model.get("setup") || {}, p = model.get("progress") || {};
    const data = floats(model.get("curve"));
    const n = Math.floor(data.length / 5);
    const column = (c) => Array.from({ length: n }, (_, i) => [data[5 * i], data[5 * i + c]]);
    const epochs = (key) => (p.epochs || []).filter((e) => Number.isFinite(e[key])).map((e) => [e.x, e[key]]);
    const losses = column(1).map(([, y]) => y).filter(Number.isFinite);
    const top = Math.max(0.5, ...losses.slice(Math.floor(losses.length / 20)));
    lineChart(lossChart, { title: "loss", xMax: s.epochs || 1, yMin: 0, yMax: Math.min(top, 3),
      series: [
        { points: column(1), color: "rgba(79, 70, 229, .25)" },
        { points: column(3), color: "#4f46e5", width: 2 },
        { points: epochs("loss"), color: "#1d2233", width: 2, dots: true },
        { points: epochs("val_loss"), color: "#e08214", width: 2, dots: true }] });
    lineChart(accuracyChart, { title: "accuracy", xMax: s.epochs || 1, yMin: 0, yMax: 1, format: (v) => `${Math.round(100 * v)}%`,
      series: [
        { points: column(2), color: "rgba(79, 70, 229, .25)" },
        { points: column(4), color: "#4f46e5", width: 2 },
        { points: epochs("accuracy"), color: "#1d2233", width: 2, dots: true },
        { points: epochs("val_accuracy"), color: "#e08214", width: 2, dots: true }] });
    lossChart.dataset.points = String(n);
  }

  function weights() {
    const s = model.get("setup") || {}, w = model.get("weights_info") || {};
    if (!w.count) { tiles.hidden = true; return; }
    if (s.colors) setColors(s.colors);
    tiles.hidden = false;
    drawTiles(tiles, floats(model.get("weights")), w.count, { cols: Math.min(16, w.count), side: w.shape[0], limit: w.limit });
    legend(tilesLegend, w.limit);
    tilesNote.textContent = `${w.count} neurons of ${w.layer} after ${w.step.toLocaleString()} steps: blue where ink makes a neuron fire, red where it holds it back`;
    tiles.dataset.step = String(w.step);
  }

  model.on("change:progress", progress);
  model.on("change:weights_info", weights);
  const resize = new ResizeObserver(() => curves());
  resize.observe(root);
  progress();
  weights();
  return () => resize.disconnect();
}

export default { render };
