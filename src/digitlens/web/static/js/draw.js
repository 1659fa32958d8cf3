// The drawing board: strokes with the mouse, a finger or a pen, smoothed; an uploaded picture; or
// a digit from MNIST. Whatever is on the board goes to /api/predict, which prepares it the MNIST
// way and runs the network; this file only draws strokes and sends pictures.

import { ApiError, post, readAsDataURL } from "./api.js";
import { blankDigit, emit, on, state, toast } from "./state.js";

const MIN_INTERVAL = 50;   // ms between predictions while drawing: up to 20 a second
let canvas, ctx, hint, sourceNote;
let drawing = false;
let points = [];
let inFlight = false, pending = false, lastSent = 0;
let boardKind = "empty";   // "empty", "drawing", "picture" (an uploaded photo), "pixels" (an MNIST digit)
let received = 0;          // pointer positions in the current stroke
let lastBody = null, lastLabel;   // what was sent last, to ask again when the model changes

export function setup() {
  canvas = document.getElementById("draw-canvas");
  ctx = canvas.getContext("2d");
  hint = document.getElementById("canvas-hint");
  sourceNote = document.getElementById("digit-source");
  clearBoard();
  showBusy();
  canvas.addEventListener("pointerdown", startStroke);
  canvas.addEventListener("pointermove", moveStroke);
  canvas.addEventListener("pointerup", endStroke);
  canvas.addEventListener("pointercancel", endStroke);
  document.getElementById("clear").addEventListener("click", clear);
  document.getElementById("image-file").addEventListener("change", uploadImage);
  on("load-digit", loadDigit);
  on("model", () => { if (state.model && lastBody && boardKind !== "empty") send(lastBody, lastLabel); });
}

function clearBoard() {
  ctx.globalCompositeOperation = "source-over";
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  boardKind = "empty";
  hint.hidden = false;
}

export function clear() {
  clearBoard();
  lastBody = null;
  sourceNote.textContent = "";
  state.digit = null;
  state.prediction = null;
  emit("prediction", null);
}

function position(event) {
  const rect = canvas.getBoundingClientRect();
  return [(event.clientX - rect.left) * canvas.width / rect.width, (event.clientY - rect.top) * canvas.height / rect.height];
}

function pen() {
  ctx.strokeStyle = "#fff";
  ctx.fillStyle = "#fff";
  ctx.lineCap = "round";
  ctx.lineJoin = "round";
  ctx.lineWidth = canvas.width / 14;   // about MNIST's stroke once scaled into 20x20
}

function startStroke(event) {
  if (event.button !== undefined && event.button > 0) return;
  event.preventDefault();
  canvas.setPointerCapture(event.pointerId);
  if (boardKind === "picture") clearBoard();   // a photo is not drawn on: start afresh
  drawing = true;
  hint.hidden = true;
  boardKind = "drawing";
  sourceNote.textContent = "your drawing";
  points = [position(event)];
  received = 1;
  pen();
  const [x, y] = points[0];
  ctx.beginPath();
  ctx.arc(x, y, ctx.lineWidth / 2, 0, 2 * Math.PI);
  ctx.fill();
  requestPredict();
}

function moveStroke(event) {
  if (!drawing) return;
  event.preventDefault();
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  pen();
  for (const e of events.length ? events : [event]) {
    points.push(position(e));
    received += 1;
    if (received === 2) {          // the first segment: from where the pen came down to the midpoint
      const [p0, p1] = points;
      ctx.beginPath();
      ctx.moveTo(p0[0], p0[1]);
      ctx.lineTo((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2);
      ctx.stroke();
    }
    // Smoothing: a quadratic curve from midpoint to midpoint, bending towards each pointer position.
    while (points.length >= 3) {
      const [p0, p1, p2] = points;
      ctx.beginPath();
      ctx.moveTo((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2);
      ctx.quadraticCurveTo(p1[0], p1[1], (p1[0] + p2[0]) / 2, (p1[1] + p2[1]) / 2);
      ctx.stroke();
      points.shift();
    }
  }
  requestPredict();
}

function endStroke(event) {
  if (!drawing) return;
  drawing = false;
  if (points.length >= 2) {
    const [a, b] = points.slice(-2);
    pen();
    ctx.beginPath();
    ctx.moveTo((a[0] + b[0]) / 2, (a[1] + b[1]) / 2);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
  }
  points = [];
  requestPredict(true);
}

// Send the board at most every MIN_INTERVAL ms, one request at a time; the last state always goes.
export function requestPredict(force = false) {
  if (inFlight) { pending = true; showBusy(); return; }
  const wait = lastSent + MIN_INTERVAL - performance.now();
  if (wait > 0 && !force) {
    pending = true;
    showBusy();
    setTimeout(() => { if (pending && !inFlight) { pending = false; requestPredict(true); } }, wait);
    return;
  }
  pending = false;
  if (boardKind !== "empty") send({ image: canvas.toDataURL("image/png") });
  showBusy();
}

// data-predicting="true" on the board while a prediction is on its way or about to be sent: the
// network shown may not be the board's yet (tests wait for "false").
function showBusy() {
  canvas.dataset.predicting = String(inFlight || pending);
}

// body: {image: a data URL} or {pixels: a prepared digit}; label: the right answer, if known.
async function send(body, label) {
  if (!state.model) return;
  inFlight = true;
  showBusy();
  lastSent = performance.now();
  lastBody = body;
  lastLabel = label;
  const source = sourceNote.textContent;
  try {
    const result = await post("/api/predict", body);
    if (boardKind === "empty") return;          // cleared while the answer was on its way
    state.prediction = result;
    state.digit = { pixels: result.image, source, label };
    emit("prediction", result);
  } catch (error) {
    if (error instanceof ApiError) toast(error.message, "error");
    else toast(`the server did not answer: ${error.message}`, "error");
  } finally {
    inFlight = false;
    if (pending) requestPredict();
    showBusy();
  }
}

async function uploadImage(event) {
  const input = event.target;
  const file = input.files[0];
  input.value = "";
  if (!file) return;
  try {
    const url = await readAsDataURL(file);
    clearBoard();
    hint.hidden = true;
    boardKind = "picture";
    sourceNote.textContent = file.name;
    if (file.type.startsWith("image/")) showPicture(url);
    await send({ image: url });
  } catch (error) {
    toast(error.message, "error");
  }
}

function showPicture(url) {
  const image = new Image();
  image.onload = () => {
    const scale = Math.min(canvas.width / image.width, canvas.height / image.height);
    const w = image.width * scale, h = image.height * scale;
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(image, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
  };
  image.src = url;
}

// A prepared 28x28 digit (an MNIST sample, a mistake): shown enlarged on the board, sent as pixels.
export async function loadDigit({ pixels, source, label }) {
  clearBoard();
  hint.hidden = true;
  const small = document.createElement("canvas");
  small.width = small.height = 28;
  const sctx = small.getContext("2d");
  const img = sctx.createImageData(28, 28);
  const values = pixels.flat();
  for (let i = 0; i < 784; i++) {
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = values[i];
    img.data[4 * i + 3] = 255;
  }
  sctx.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = true;
  boardKind = "pixels";
  sourceNote.textContent = source;
  await send({ pixels }, label);
  boardKind = "drawing";   // drawing on top of it continues from the board itself
}

export function currentDigit() {
  return state.digit ? state.digit.pixels : blankDigit();
}
