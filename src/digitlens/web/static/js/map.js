// The Draw tab's maps of the hidden space (/api/map): 2,000 test images as dots, placed by their
// pixels and by a hidden layer's activations (principal components, computed by the server),
// coloured by digit as the report's maps are. Pointing at a dot shows its image, clicking loads it
// into Draw, and the digit on the board appears on both maps as it is drawn (/api/map/project).
// The keyboard picks images too: each map is a slider over the test images (arrow keys, Page Up /
// Down, Home, End; Enter loads). Only drawing happens here: every position comes from the server.

import { get, post } from "./api.js";
import { drawGray } from "./colors.js";
import { className, el, emit, on, state, toast, unavailable } from "./state.js";

const NEAR = 9;                 // CSS pixels: how close the pointer must be to a dot
const YOURS = "#111827";
let card, maps, layerSelect;
let data = null;                // /api/map for the model and layer shown
let shown = false;              // the learner asked for the maps
let loading = false;
let picked = null;              // the test image pointed at or chosen with the keyboard
let digit = null;               // /api/map/project of the board's digit
let asking = false, again = null;
const images = new Map();       // test image index -> the promise of /api/data/test/{index}
const canvases = {};

export function setup() {
  card = document.getElementById("map-card");
  maps = document.getElementById("maps");
  layerSelect = document.getElementById("map-layer");
  document.getElementById("map-show").addEventListener("click", () => { shown = true; load(); });
  layerSelect.addEventListener("change", () => load());
  for (const key of ["pixels", "hidden"]) {
    const canvas = canvases[key] = document.getElementById(`map-${key}`);
    canvas.addEventListener("mousemove", (event) => point(key, event));
    canvas.addEventListener("mouseleave", () => pick(null));
    canvas.addEventListener("click", (event) => { point(key, event); if (picked !== null) loadPicked(); });
    canvas.addEventListener("keydown", (event) => keys(event));
  }
  on("model", () => { if (shown) load(); });
  on("prediction", (p) => project(p));
  window.addEventListener("resize", () => { if (data && !maps.hidden) draw(); });
}

async function load() {
  if (!state.model || loading) return;
  const hidden = state.model.hidden;
  const button = document.getElementById("map-show");
  // a model whose Dense output layer reads its input directly has no hidden space: said in the maps' place
  unavailable(button, hidden.length ? null : "This model has no hidden Dense layer: its output layer reads " +
    "the layers below it directly, so there is no hidden space to map.");
  if (!hidden.length) { maps.hidden = true; return; }
  if (layerSelect.options.length !== hidden.length || layerSelect.dataset.version !== String(state.version)) {
    layerSelect.replaceChildren(...hidden.map((h, k) => el("option", { value: String(k), text: `${k + 1}: ${h.name} (${h.units} ${h.activation})` })));
    layerSelect.value = String(hidden.length - 1);
    layerSelect.dataset.version = String(state.version);
  }
  document.getElementById("map-layer-field").hidden = hidden.length < 2;
  button.disabled = true;
  button.textContent = "mapping 2,000 test images\u2026";
  loading = true;
  try {
    data = await get(`/api/map?layer=${layerSelect.value}`);
  } catch (error) {
    toast(error.message, "error");
    return;
  } finally {
    loading = false;
    button.disabled = false;
    button.textContent = "Show the maps";
  }
  button.hidden = true;
  maps.hidden = false;
  card.dataset.version = String(data.version);
  for (const canvas of Object.values(canvases)) canvas.setAttribute("aria-valuemax", String(data.count - 1));
  const title = (key, what) => {
    const space = data[key];
    return `${what}: the first two directions carry ${Math.round(100 * space.explained[0])}% and ` +
      `${Math.round(100 * space.explained[1])}% of the variation; separation ${space.separation.toFixed(2)}`;
  };
  document.getElementById("map-pixels-title").textContent = title("pixels", `${data.count.toLocaleString()} test images by their 784 pixels`);
  document.getElementById("map-hidden-title").textContent = title("hidden", `the same images by ${data.layer}'s activations`);
  document.getElementById("map-legend").replaceChildren(...data.class_names.map((name, k) => el("span", { class: "map-key" },
    el("span", { class: "swatch", style: `background:rgb(${data.colors[k].join(",")})` }), name)));
  digit = null;
  draw();
  if (data.version !== state.version) { load(); return; }     // the model changed while it was mapped
  if (state.prediction) project(state.prediction);
}

// Data coordinates -> canvas pixels: each map fills its square, with a margin, y up.
function frame(key, canvas) {
  const points = data[key].points;
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const [x, y] of points) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
  const W = canvas.clientWidth, H = canvas.clientHeight, m = 10;
  const sx = (W - 2 * m) / ((x1 - x0) || 1), sy = (H - 2 * m) / ((y1 - y0) || 1);
  return { X: (x) => m + (x - x0) * sx, Y: (y) => H - m - (y - y0) * sy, W, H };
}

function draw() {
  for (const [key, canvas] of Object.entries(canvases)) {
    const ratio = window.devicePixelRatio || 1;
    const f = frame(key, canvas);
    canvas.width = Math.round(f.W * ratio);
    canvas.height = Math.round(f.H * ratio);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, f.W, f.H);
    ctx.globalAlpha = 0.6;
    data[key].points.forEach(([x, y], i) => {
      ctx.fillStyle = `rgb(${data.colors[data.labels[i]].join(",")})`;
      ctx.fillRect(f.X(x) - 1.5, f.Y(y) - 1.5, 3, 3);
    });
    ctx.globalAlpha = 1;
    ctx.font = "700 15px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    data[key].centres.forEach((c, k) => {
      if (!c) return;
      ctx.fillStyle = "rgba(255, 255, 255, .8)";
      ctx.fillRect(f.X(c[0]) - 9, f.Y(c[1]) - 10, 18, 20);
      ctx.fillStyle = `rgb(${data.colors[k].join(",")})`;
      ctx.fillText(data.class_names[k], f.X(c[0]), f.Y(c[1]));
    });
    if (picked !== null) ring(ctx, f, data[key].points[picked], "#4f46e5", 7);
    if (digit) {
      ring(ctx, f, digit[key], YOURS, 9);
      ctx.font = "600 12px system-ui, sans-serif";
      ctx.fillStyle = YOURS;
      ctx.textAlign = "left";
      ctx.fillText("your digit", Math.min(f.X(digit[key][0]) + 12, f.W - 64), f.Y(digit[key][1]));
    }
  }
  maps.dataset.digit = digit ? "shown" : "none";
}

function ring(ctx, f, [x, y], colour, r) {
  ctx.strokeStyle = "#fff";
  ctx.lineWidth = 4;
  ctx.beginPath(); ctx.arc(f.X(x), f.Y(y), r, 0, 2 * Math.PI); ctx.stroke();
  ctx.strokeStyle = colour;
  ctx.lineWidth = 2;
  ctx.beginPath(); ctx.arc(f.X(x), f.Y(y), r, 0, 2 * Math.PI); ctx.stroke();
}

// ---- pointing, clicking, the keyboard --------------------------------------------------------------

function point(key, event) {
  if (!data) return;
  const f = frame(key, canvases[key]);
  let best = null, bestDistance = NEAR * NEAR;
  data[key].points.forEach(([x, y], i) => {
    const d = (f.X(x) - event.offsetX) ** 2 + (f.Y(y) - event.offsetY) ** 2;
    if (d < bestDistance) { best = i; bestDistance = d; }
  });
  pick(best);
}

async function pick(i) {
  if (i === picked) return;
  picked = i;
  draw();
  const text = document.getElementById("map-peek-text");
  const peek = document.getElementById("map-peek-image");
  if (i === null) { text.textContent = "Point at a dot to see its image; click it to load it into Draw."; delete maps.dataset.picked; return; }
  const words = `test image #${i}, a ${className(data.labels[i])}`;
  for (const canvas of Object.values(canvases)) {
    canvas.setAttribute("aria-valuenow", String(i));
    canvas.setAttribute("aria-valuetext", words);
  }
  text.textContent = `${words}: click, or press Enter, to load it into Draw`;
  maps.dataset.picked = String(i);
  const image = await testImage(i);
  if (image && picked === i) {
    drawGray(peek, image.image);
    peek.setAttribute("aria-label", words);
  }
}

function testImage(i) {
  if (!images.has(i)) {
    const promise = get(`/api/data/test/${i}`).catch((error) => { images.delete(i); toast(error.message, "error"); return null; });
    images.set(i, promise);
  }
  return images.get(i);
}

async function loadPicked() {
  const i = picked;
  const image = await testImage(i);
  if (!image) return;
  emit("load-digit", { pixels: image.image, source: `MNIST test image #${i} (a ${className(image.label)}), from the map`, label: image.label });
}

function keys(event) {
  if (!data) return;
  const now = picked === null ? 0 : picked;
  const moves = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1, PageUp: 100, PageDown: -100 };
  if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    if (picked !== null) loadPicked();
    return;
  }
  let next;
  if (event.key in moves) next = now + (picked === null ? 0 : moves[event.key]);
  else if (event.key === "Home") next = 0;
  else if (event.key === "End") next = data.count - 1;
  else return;
  event.preventDefault();
  pick(Math.max(0, Math.min(data.count - 1, next)));
}

// ---- the board's digit on both maps -------------------------------------------------------------------

// One request at a time; the board's latest digit always goes.
async function project(p) {
  if (!data || maps.hidden) return;
  if (!p) { digit = null; draw(); return; }
  if (asking) { again = p; return; }
  asking = true;
  try {
    const r = await post("/api/map/project", { pixels: p.image, layer: data.layer_index });
    if (r.version === data.version && state.prediction) { digit = r; draw(); }
  } catch (error) {
    toast(error.message, "error");
  } finally {
    asking = false;
    if (again) { const next = again; again = null; project(next); }
  }
}
