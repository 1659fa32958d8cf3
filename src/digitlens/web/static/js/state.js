// What the page shares between its views, and a tiny event bus.
//
//   state.model       /api/status's model info (null without a model)
//   state.version     the model's version: it changes when training ends, a file is loaded, ...
//   state.digit       {pixels: 28x28 prepared digit (0-255), source: "your drawing", label?}
//   state.prediction  the last /api/predict answer

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
