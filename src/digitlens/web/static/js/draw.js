// The Draw tab's board: the drawing pad (pad.js), an uploaded picture, or a digit from MNIST.
// Whatever is on the board goes to /api/predict, which prepares it the MNIST way and runs the
// network; this file only sends pictures and keeps the page's current digit (state.digit).

import { ApiError, get, post, readAsDataURL } from "./api.js";
import { createPad } from "./pad.js";
import { blankDigit, className, emit, on, state, toast } from "./state.js";

const MIN_INTERVAL = 50;   // ms between predictions while drawing: up to 20 a second
// The board is 336 px for the finger; the network's digit is 20 px. A drawing is sent at 112 px:
// every stroke is still there (averaged, not dropped) and the server prepares it in a fifth of
// the time - which matters when a whole class draws on one machine.
const SEND_SIDE = 112;
let pad, canvas, sourceNote;
let inFlight = false, pending = false, lastSent = 0;
let lastBody = null, lastLabel;   // what was sent last, to ask again when the model changes
let digitId = 0;                  // a new number for each new digit (not for each stroke)
let fresh = true;                 // the next stroke starts a new digit

export function setup() {
  canvas = document.getElementById("draw-canvas");
  sourceNote = document.getElementById("digit-source");
  pad = createPad(canvas, {
    cursor: document.getElementById("pen-cursor"), hint: document.getElementById("canvas-hint"),
    onChange: (final) => {
      // A stroke on an empty board, on a photo or on an MNIST digit starts a new digit of your own:
      // a digit drawn over is no longer the one its label was for.
      if (fresh || !state.digit || state.digit.source !== "your drawing") { fresh = false; newDigit("your drawing"); }
      requestPredict(final);
    },
    onClear: clear,
  });
  showBusy();
  document.getElementById("clear").addEventListener("click", clear);
  document.getElementById("image-file").addEventListener("change", uploadImage);
  document.getElementById("sample-digit").addEventListener("click", sampleDigit);
  on("load-digit", loadDigit);
  on("model", () => { if (state.model && lastBody && pad.kind !== "empty") send(lastBody, lastLabel); });
}

// A new digit begins: the Backprop tab's answer follows it again, the Inspect panel stays.
function newDigit(source, label) {
  digitId += 1;
  sourceNote.textContent = source;
  state.digit = { pixels: state.digit ? state.digit.pixels : blankDigit(), source, label, id: digitId };
  emit("digit", state.digit);
}

export function clear() {
  pad.clear();
  lastBody = null;
  fresh = true;
  sourceNote.textContent = "";
  state.digit = null;
  state.prediction = null;
  emit("digit", null);
  emit("prediction", null);
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
  if (pad.kind !== "empty") send({ image: pad.toDataURL(SEND_SIDE) });
  showBusy();
}

// data-predicting="true" on the board while a prediction is on its way or about to be sent: the
// network shown may not be the board's yet (tests wait for "false").
function showBusy() {
  canvas.dataset.predicting = String(inFlight || pending);
}

// body: {image: a data URL} or {pixels: a prepared digit}; label: the right answer, if known.
// Returns the answer, or throws (an ApiError says what the server refused).
async function ask(body) {
  inFlight = true;
  showBusy();
  lastSent = performance.now();
  try {
    return await post("/api/predict", body);
  } finally {
    inFlight = false;
    if (pending) requestPredict();
    showBusy();
  }
}

async function send(body, label) {
  if (!state.model) return;
  lastBody = body;
  lastLabel = label;
  const id = digitId;
  try {
    const result = await ask(body);
    if (pad.kind === "empty" || id !== digitId) return;   // cleared, or another digit, meanwhile
    show(result, label);
  } catch (error) {
    if (error instanceof ApiError) toast(error.message, "error");
    else toast(`the server did not answer: ${error.message}`, "error");
  }
}

function show(result, label) {
  state.prediction = result;
  state.digit = { ...(state.digit || {}), pixels: result.image, label, id: digitId };
  emit("prediction", result);
}

// An image file: asked about first, and shown only if the server could read it. A file that fails
// leaves the board, the digit and the prediction as they were, and the message names the file.
async function uploadImage(event) {
  const input = event.target;
  const file = input.files[0];
  input.value = "";
  if (!file) return;
  if (!state.model) { toast("there is no model yet: train one or load a .keras file", "error"); return; }
  let result, url;
  try {
    url = await readAsDataURL(file);
    result = await ask({ image: url });
  } catch (error) {
    const detail = error.message.replace(/^image[^:]{0,20}:\s*/, "");   // "image bytes: ..." names the file instead
    toast(detail.includes(file.name) ? detail : `${file.name}: ${detail}`, "error", 8);
    return;
  }
  fresh = true;
  newDigit(file.name);
  if (file.type.startsWith("image/")) await pad.showPicture(url);
  else pad.kind = "picture";
  lastBody = { image: url };
  lastLabel = undefined;
  show(result, undefined);
}

// A prepared 28x28 digit (an MNIST sample, a mistake): shown enlarged on the board, sent as pixels.
export async function loadDigit({ pixels, source, label }) {
  pad.showPixels(pixels);
  fresh = false;
  newDigit(source, label);
  await send({ pixels }, label);
  pad.kind = "drawing";   // drawing on top of it continues from the board itself
}

async function sampleDigit() {
  try {
    const count = state.testCount || 10000;
    const d = await get(`/api/data/test/${Math.floor(Math.random() * count)}`);
    await loadDigit({ pixels: d.image, source: `MNIST test image #${d.index} (a ${className(d.label)})`, label: d.label });
  } catch (error) {
    toast(error.message, "error");
  }
}

export function currentDigit() {
  return state.digit ? state.digit.pixels : blankDigit();
}
