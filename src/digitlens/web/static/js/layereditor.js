// The Train tab's network: its hidden layers, each a number of neurons and an activation, between
// Flatten 784 and the 10 outputs. A reusable view: it fills `root`, and `add` is the button that
// adds a layer (at most MAX_LAYERS).
//
//   const editor = createLayerEditor(root, addButton, [{ units: 256, activation: "relu" }]);
//   editor.settings()        // [{units, activation}, ...] for POST /api/train's "hidden"

import { el } from "./state.js";

const MAX_LAYERS = 4;
const ACTIVATIONS = ["relu", "sigmoid", "tanh", "linear"];

export function createLayerEditor(root, add, initial) {
  function label() {
    const rows = [...root.querySelectorAll(".arch-layer")];
    rows.forEach((row, k) => {
      row.querySelector(".t-units").setAttribute("aria-label", `neurons in hidden layer ${k + 1}`);
      row.querySelector(".t-activation").setAttribute("aria-label", `activation of hidden layer ${k + 1}`);
      const remove = row.querySelector(".remove");
      remove.setAttribute("aria-label", `remove hidden layer ${k + 1}`);
      remove.hidden = rows.length === 1;
    });
    add.hidden = rows.length >= MAX_LAYERS;
  }

  function addLayer(units, activation) {
    if (root.children.length >= MAX_LAYERS) return;
    const row = el("div", { class: "arch-layer" },
      el("span", { "aria-hidden": "true", text: "\u2192 Dense" }),
      el("input", { type: "number", value: units, min: 1, max: 2048, class: "t-units", "data-testid": "layer-units" }),
      el("select", { class: "t-activation", "data-testid": "layer-activation" },
        ...ACTIVATIONS.map((a) => el("option", { text: a, selected: a === activation }))),
      el("button", { type: "button", class: "btn ghost small-btn remove", text: "\u00d7",
        onclick: () => { row.remove(); label(); } }));
    root.append(row);
    label();
  }

  add.addEventListener("click", () => addLayer(64, "relu"));
  for (const layer of initial) addLayer(layer.units, layer.activation);
  return {
    settings: () => [...root.querySelectorAll(".arch-layer")].map((row) => ({
      units: Number(row.querySelector(".t-units").value), activation: row.querySelector(".t-activation").value })),
  };
}
