// The Compare tab: the model every tab uses (A) beside a second one (B) - the model it replaced, the
// one the app started with, or a file - on the test set (/api/compare): parameters and the
// arithmetic of each, accuracy overall and per digit, both confusion matrices and their difference,
// how often they agree, the images one reads right and the other wrong (click: into Draw), the
// same digit through both at once (/api/compare/predict), and their first-layer weights.

import { ApiError, get, post, unpack, upload } from "./api.js";
import { diverging, drawGray, drawTiles, fixed, legend, percent } from "./colors.js";
import { createPad } from "./pad.js";
import { className, el, emit, on, plural, state, toast, unavailable } from "./state.js";

const MIN_INTERVAL = 80;        // ms between the pad's predictions while drawing
let shownFor = null;            // "A version/B version" of the comparison on the page
let pad = null;
let asking = false, again = null;

export function setup() {
  on("tab", (name) => { if (name === "compare") show(); });
  on("model", () => { if (state.tab === "compare") show(); });
  document.getElementById("cmp-previous").addEventListener("click", () => choose("previous"));
  document.getElementById("cmp-start").addEventListener("click", () => choose("start"));
  document.getElementById("cmp-file").addEventListener("change", uploadSecond);
  document.getElementById("cmp-clear").addEventListener("click", () => { pad.clear(); showBoth(null); });
  document.getElementById("cmp-use-digit").addEventListener("click", useDrawDigit);
  pad = createPad(document.getElementById("cmp-canvas"), { hint: document.getElementById("cmp-hint"),
    onChange: () => ask({ image: pad.toDataURL() }), onClear: () => showBoth(null) });
}

// ---- choosing B ---------------------------------------------------------------------------------

async function status() {
  const s = await get("/api/status");
  state.compare = s.compare;
  return s;
}

async function choose(which) {
  try {
    await post("/api/compare/choose", { which });
    await status();
    await show();
  } catch (error) {
    toast(error.message, "error", 8);
  }
}

async function uploadSecond(event) {
  const input = event.target;
  const file = input.files[0];
  input.value = "";
  if (!file) return;
  toast(`loading ${file.name}\u2026`);
  try {
    await upload("/api/compare/upload", file);
    await status();
    toast(`${file.name} loaded as B: the model every tab uses stays A.`);
    await show();
  } catch (error) {
    toast(error.message.includes(file.name) ? error.message : `${file.name}: ${error.message}`, "error", 8);
  }
}

function renderChooser() {
  const c = state.compare || {};
  const previous = document.getElementById("cmp-previous"), start = document.getElementById("cmp-start");
  previous.disabled = !c.previous;
  previous.title = c.previous ? `B: ${c.previous}` : "there is no previous model yet: train or load one";
  start.disabled = !c.start;
  start.title = c.start ? `B: ${c.start}` : "the current model is the one the app started with";
  const m = state.model;
  document.getElementById("cmp-a").textContent = m ? `${m.origin} (${m.params.toLocaleString()} parameters)` : "no model yet";
  document.getElementById("cmp-b").textContent = c.second
    ? `${c.second.origin}: ${c.second.layers.join(" \u2192 ")} (${c.second.params.toLocaleString()} parameters)`
    : "not chosen yet: pick the previous model, the one the app started with, or load a file";
}

// ---- the comparison -----------------------------------------------------------------------------

async function show() {
  try {
    await status();
  } catch (error) {
    toast(error.message, "error");
    return;
  }
  renderChooser();
  const c = state.compare;
  const body = document.getElementById("cmp-body");
  if (!state.model || !c || !c.second) { body.hidden = true; shownFor = null; return; }
  const key = `${state.version}/${c.second.version}`;
  if (key === shownFor) return;
  shownFor = key;
  body.hidden = false;
  const top = document.getElementById("cmp-summary");
  top.replaceChildren(el("div", { class: "pending", text: "both models reading the 10,000 test images\u2026" }));
  let r;
  try {
    r = await get("/api/compare");
  } catch (error) {
    top.replaceChildren(el("div", { class: "pending", text: error.message }));
    shownFor = null;
    return;
  }
  body.dataset.agreement = String(r.agreement);
  summary(r);
  perClass(r);
  confusions(r);
  galleries(r);
  weights(r);
  showBoth(null);
}

function summary(r) {
  const [pa, pb] = r.parameters;
  const row = (what, a, b) => el("tr", {}, el("th", { scope: "row", text: what }), el("td", {}, a), el("td", {}, b));
  const arithmetic = (table) => el("ul", { class: "arith" }, ...table.layers.filter((l) => l.params)
    .map((l) => el("li", {}, el("b", { text: `${l.name}: ` }), l.text)));
  const layers = (table) => table.layers.map((l) => l.label).join(" \u2192 ");
  document.getElementById("cmp-summary").replaceChildren(
    el("div", { class: "eval-top" },
      el("div", { class: "stat" }, el("b", { text: percent(r.agreement, 2), "data-testid": "cmp-agreement" }),
        el("span", { text: `of ${r.count.toLocaleString()} test images read as the same digit by both` })),
      el("div", { class: "stat" }, el("b", { text: r.both_right.toLocaleString() }), el("span", { text: "both right" })),
      el("div", { class: "stat" }, el("b", { text: r.only_a_count.toLocaleString() }), el("span", { text: "only A right" })),
      el("div", { class: "stat" }, el("b", { text: r.only_b_count.toLocaleString() }), el("span", { text: "only B right" })),
      el("div", { class: "stat" }, el("b", { text: r.both_wrong.toLocaleString() }), el("span", { text: "both wrong" }))),
    el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "the two models' numbers" },
      el("table", { class: "params cmp-table", "data-testid": "cmp-table" },
        el("tr", {}, el("th", { text: "" }), el("th", { scope: "col", text: "A" }), el("th", { scope: "col", text: "B" })),
        row("layers", layers(pa), layers(pb)),
        row("parameters", `${pa.total.toLocaleString()} (${pa.size})`, `${pb.total.toLocaleString()} (${pb.size})`),
        row("where they come from", arithmetic(pa), arithmetic(pb)),
        row("test accuracy", el("b", { text: percent(r.accuracy[0], 2) }), el("b", { text: percent(r.accuracy[1], 2) })),
        row("test loss", fixed(r.loss[0], 4), fixed(r.loss[1], 4)))));
}

function perClass(r) {
  const bar = (p, cls) => el("span", { class: `bar ${cls}`, "aria-hidden": "true" }, el("span", { style: `width:${Number.isFinite(p) ? (100 * p).toFixed(2) : 0}%` }));
  document.getElementById("cmp-classes").replaceChildren(
    el("tr", {}, el("th", { scope: "col", text: "digit" }), el("th", { scope: "col", text: "A" }), el("th", { scope: "col", text: "B" }),
      el("th", { scope: "col", text: "A \u2212 B" })),
    ...r.class_names.map((name, k) => {
      const a = r.per_class_accuracy[0][k], b = r.per_class_accuracy[1][k];
      const gap = a !== null && b !== null ? a - b : null;
      return el("tr", {}, el("th", { scope: "row", text: name }),
        el("td", {}, bar(a, "a"), el("span", { text: percent(a, 1) })),
        el("td", {}, bar(b, "b"), el("span", { text: percent(b, 1) })),
        el("td", { class: gap > 0 ? "pos" : gap < 0 ? "neg" : "", text: gap === null ? "\u2013" : `${gap >= 0 ? "+" : "\u2212"}${Math.abs(100 * gap).toFixed(1)}` }));
    }));
}

function confusions(r) {
  const names = r.class_names;
  const table = (matrix, id, colour, what) => {
    const head = el("tr", {}, el("th", { class: "axis", scope: "col", text: "true \u2193 read as \u2192" }),
      ...names.map((c) => el("th", { scope: "col", text: c })));
    return el("table", { class: "confusion small-matrix", "data-testid": id }, head, ...matrix.map((row, i) => el("tr", {},
      el("th", { scope: "row", text: names[i] }), ...row.map((v, j) => el("td", { style: `background:${colour(v, i, j)}`,
        title: what(v, i, j), text: v ? (id === "cmp-diff" && v > 0 ? `+${v}` : String(v)) : "" })))));
  };
  let offMax = 1, diffMax = 1;
  r.confusion.forEach((m) => m.forEach((row, i) => row.forEach((v, j) => { if (i !== j) offMax = Math.max(offMax, v); })));
  r.confusion_difference.forEach((row, i) => row.forEach((v, j) => { if (i !== j) diffMax = Math.max(diffMax, Math.abs(v)); }));
  const counts = (v, i, j) => i === j ? "rgba(55, 48, 163, 0.12)" : v ? `rgba(220, 38, 38, ${(0.06 + 0.4 * Math.sqrt(v / offMax)).toFixed(3)})` : "#f7f8fb";
  // blue where A has more, red where B has more (on the diagonal: more right answers), at half
  // strength so that the counts stay readable on them
  const diff = (v) => { if (!v) return "#f7f8fb"; const [R, G, B] = diverging(0.5 * Math.max(-diffMax, Math.min(diffMax, v)), diffMax); return `rgb(${R},${G},${B})`; };
  const said = (v, i, j) => `${v} image${v === 1 ? "" : "s"} of ${names[i]} read as ${names[j]}`;
  const more = (v, i, j) => v > 0 ? `A has ${v} more ${names[i]}s read as ${names[j]} than B` : v < 0 ? `B has ${-v} more ${names[i]}s read as ${names[j]} than A` : "the same count";
  document.getElementById("cmp-confusions").replaceChildren(
    el("div", {}, el("h3", { text: "A" }), el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "A's confusion matrix" }, table(r.confusion[0], "cmp-conf-a", counts, said))),
    el("div", {}, el("h3", { text: "B" }), el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "B's confusion matrix" }, table(r.confusion[1], "cmp-conf-b", counts, said))),
    el("div", {}, el("h3", { text: "A minus B" }), el("p", { class: "muted small", text: "blue: A has more here, red: B has more" }),
      el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "A's confusion matrix minus B's" }, table(r.confusion_difference, "cmp-diff", diff, more))));
}

function galleries(r) {
  const names = r.class_names;
  const gallery = (items, id, right) => el("div", { class: "cmp-gallery", "data-testid": id }, ...(items.length ? items.map((m) => {
    const canvas = el("canvas", { width: 28, height: 28 });
    drawGray(canvas, m.image);
    const hidden = (text) => el("span", { class: "visually-hidden", text });
    // its name is what it shows ("#1234", "A 7", "B 1") with the words a screen reader needs between
    return el("button", { type: "button", class: "cmp-item", "data-testid": `${id}-${m.index}`,
      title: `A: ${percent(m.confidence_a)} sure, B: ${percent(m.confidence_b)} sure`,
      onclick: () => {
        emit("load-digit", { pixels: m.image, source: `MNIST test image #${m.index} (labelled ${names[m.label]})`, label: m.label });
        emit("show-tab", "draw");
      } },
      canvas, el("span", {}, hidden("test image "), `#${m.index}`, hidden(`, a ${names[m.label]}: `)),
      el("span", {}, "A ", hidden("reads "), el("b", { class: right === "a" ? "ok" : "bad", text: names[m.prediction_a] }), hidden(", ")),
      el("span", {}, "B ", hidden("reads "), el("b", { class: right === "b" ? "ok" : "bad", text: names[m.prediction_b] }),
        hidden("; load it into Draw")));
  }) : [el("p", { class: "muted small", text: "none" })]));
  document.getElementById("cmp-galleries").replaceChildren(
    el("h3", { text: `Read right by A, wrong by B: ${plural(r.only_a_count, "image")}` + (r.only_a.length < r.only_a_count ? `, A's surest ${r.only_a.length}` : "") }),
    gallery(r.only_a, "cmp-only-a", "a"),
    el("h3", { text: `Read right by B, wrong by A: ${plural(r.only_b_count, "image")}` + (r.only_b.length < r.only_b_count ? `, B's surest ${r.only_b.length}` : "") }),
    gallery(r.only_b, "cmp-only-b", "b"));
}

function weights(r) {
  const parts = [];
  ["a", "b"].forEach((key, i) => {
    const packed = r.weights[i];
    const canvas = document.getElementById(`cmp-weights-${key}`);
    const legendBox = document.getElementById(`cmp-weights-${key}-legend`);
    unavailable(canvas, packed.note && !packed.shape ? packed.note : null, [legendBox]);
    if (!packed.shape) return;
    const w = unpack(packed);
    const side = w.shape[1];
    drawTiles(canvas, w.data, w.shape[0], { cols: Math.min(8, w.shape[0]), side, limit: packed.limit });
    legend(legendBox, packed.limit, 2);
    if (packed.kind === "kernels") {
      canvas.setAttribute("aria-label", `${key.toUpperCase()}'s first layer, ${packed.layer}: ${w.shape[0]} filters of ${side}\u00d7${side} weights`);
      parts.push(`${key.toUpperCase()}: the first ${w.shape[0]} filters of its Conv2D layer ${packed.layer}, each its ${side}\u00d7${side} weights over the pixels.`);
    } else {
      const units = r.parameters[i].layers.find((l) => l.kernel_shape);
      canvas.setAttribute("aria-label", `${key.toUpperCase()}'s first ${w.shape[0]} first-layer neurons' weights` +
        (units ? ` (of ${units.kernel_shape[1]})` : ""));
      parts.push(`${key.toUpperCase()}: the first ${w.shape[0]} neurons of its first layer, each the 28\u00d728 picture of its incoming weights.`);
    }
  });
  document.getElementById("cmp-weights-note").textContent =
    `${parts.join(" ")} Blue: ink there raises the sum, red: lowers it.`;
}

// ---- one digit through both ---------------------------------------------------------------------

function useDrawDigit() {
  if (!state.digit) { toast("there is no digit in the Draw tab yet: draw one there, or here", "error"); return; }
  pad.showPixels(state.digit.pixels);
  ask({ pixels: state.digit.pixels }, true);
}

// One request at a time; the last drawing always goes.
async function ask(body, force = false) {
  if (asking && !force) { again = body; return; }
  asking = true;
  try {
    const r = await post("/api/compare/predict", body);
    if (pad.kind !== "empty") showBoth(r);
  } catch (error) {
    toast(error instanceof ApiError ? error.message : `the server did not answer: ${error.message}`, "error");
  } finally {
    await new Promise((done) => setTimeout(done, MIN_INTERVAL));
    asking = false;
    if (again) { const next = again; again = null; ask(next); }
  }
}

function showBoth(r) {
  const box = document.getElementById("cmp-answers");
  box.dataset.state = r ? "shown" : "empty";
  const prepared = document.getElementById("cmp-prepared");
  drawGray(prepared, r ? r.image : new Array(784).fill(0));
  if (!r) {
    box.replaceChildren(el("p", { class: "muted small", text: "Draw a digit on the board, or use the one in the Draw tab: both models read it at once." }));
    return;
  }
  const column = (key, name) => {
    const answer = r[key];
    return el("div", { class: "cmp-answer", "data-testid": `cmp-answer-${key}` },
      el("h3", {}, `${name} reads `, el("b", { class: "big", "data-testid": `cmp-prediction-${key}`, text: className(answer.prediction) })),
      el("p", { class: "muted small", text: answer.confidence }),
      ...answer.probabilities.map((p, k) => el("div", { class: `cmp-prob${k === answer.prediction ? " top" : ""}` },
        el("b", { text: className(k) }), el("span", { class: "bar", "aria-hidden": "true" }, el("span", { style: `width:${(100 * p).toFixed(1)}%` })),
        el("span", { text: percent(p) }))));
  };
  box.replaceChildren(column("a", "A"), column("b", "B"));
  if (r.doubt) box.append(el("p", { class: "doubt", text: r.doubt }));
}
