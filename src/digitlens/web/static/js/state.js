// What the page shares between its views, and a tiny event bus.
//
//   state.model       /api/status's model info (null without a model)
//   state.version     the model's version: it changes when training ends, a file is loaded, ...
//   state.digit       {pixels: 28x28 prepared digit (0-255), source: "your drawing", label?, id}
//                     id changes when a new digit is started (cleared, loaded), not with each stroke
//   state.prediction  the last /api/predict answer
//   state.compare     /api/status's compare: the second model chosen, and what could be chosen
//
// Events: "model" (a new model), "prediction" (a new answer, or null when cleared), "digit" (a
// new digit was started), "inspect" ({kind: "neuron", layer, index} or {kind: "output", index}),
// "tab", "load-digit", "show-tab", "model-changed", "training-active" (a job started or ended).

export const state = { model: null, version: 0, digit: null, prediction: null, training: null };

const listeners = {};

export function on(name, fn) {
  (listeners[name] = listeners[name] || []).push(fn);
}

export function emit(name, data) {
  for (const fn of listeners[name] || []) {
    try { fn(data); } catch (error) { console.error(error); }
  }
}

export function toast(message, kind = "info", seconds = 5) {
  const el = document.getElementById("toast");
  el.textContent = message;
  el.className = `toast ${kind}`;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, seconds * 1000);
}

export function className(index) {
  const names = state.model ? state.model.class_names : null;
  return names && names[index] !== undefined ? names[index] : String(index);
}

// A DOM element: el("b", { class: "big", text: "7" }, ...children). Text always goes in as text
// (textContent, or string children), never as markup: class names and layer names come from model
// files, which anyone can write.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export function blankDigit() {
  return Array.from({ length: 28 }, () => new Array(28).fill(0));
}

// "1 step", "2 steps": a count and its noun, singular when the count is one.
export function plural(count, word, many = `${word}s`) {
  return `${Number(count).toLocaleString()} ${count === 1 ? word : many}`;
}

// The hidden layers of the current model, from /api/status ([] without a model).
export function hiddenLayers() {
  return state.model ? state.model.hidden : [];
}

// "hidden layer 2 (dense_1, 32 sigmoid)": how the page names a hidden layer for people.
export function layerName(k, { long = true } = {}) {
  const h = hiddenLayers()[k];
  if (!h) return `hidden layer ${k + 1}`;
  return long ? `hidden layer ${k + 1} (${h.name}, ${h.units} ${h.activation})` : `hidden layer ${k + 1}`;
}

// A picture this model cannot show (the server said why: a CNN has no weight per pixel to draw):
// hide `element` and the `also` elements beside it and put the reason in its place; reason null
// shows them again.
export function unavailable(element, reason, also = []) {
  let note = element.previousElementSibling;
  if (!note || !note.classList.contains("unavailable")) {
    note = el("p", { class: "unavailable", "data-testid": "unavailable", hidden: true });
    element.before(note);
  }
  note.hidden = !reason;
  note.textContent = reason || "";
  for (const item of [element, ...also]) if (item) item.hidden = !!reason;
}
