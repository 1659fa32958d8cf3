// Views of one layer of the network, made to be reused (the Draw tab, a notebook widget): each
// takes the element to fill and the numbers to show, and calls back when the learner picks a unit.
//
//   const grid = createLayerGrid(root, { layer: 1, units: 32, activation: "sigmoid", title, onSelect });
//   grid.render(activations)          // light each neuron by its activation, announce its value
//   grid.mark({ up, down, selected }) // outline neurons (which pushed up / down), the chosen one
//
//   const outputs = createOutputs(root, { names, onSelect });
//   outputs.render(probabilities, prediction); outputs.mark(k)
//
// Colours follow the activation: relu and linear neurons are lit from dark (0) to bright (the
// layer's largest); tanh and sigmoid have their own fixed range, -1..+1 and 0..1; a negative
// output (tanh, linear) is lit in blue, not amber, because it pushes the other way.

import { fixed, lit, percent } from "./colors.js";
import { el } from "./state.js";

const COOL = [[31, 36, 51], [30, 78, 140], [96, 165, 235], [219, 238, 255]];

export function cool(t) {
  t = Math.max(0, Math.min(1, t));
  const x = t * (COOL.length - 1);
  const i = Math.min(COOL.length - 2, Math.floor(x));
  const f = x - i;
  const a = COOL[i], b = COOL[i + 1];
  return `rgb(${a[0] + (b[0] - a[0]) * f | 0},${a[1] + (b[1] - a[1]) * f | 0},${a[2] + (b[2] - a[2]) * f | 0})`;
}

// How bright each value is, and a legend: the scale depends on the activation.
export function brightness(values, activation) {
  let top = 0;
  for (const v of values) if (Number.isFinite(v)) top = Math.max(top, Math.abs(v));
  const count = (test) => values.filter(test).length;
  if (activation === "tanh") {
    return { scale: 1, legend: `amber: positive, blue: negative; brighter = further from 0 (tanh runs from \u22121 to +1). ` +
      `${count((v) => v > 0)} of ${values.length} positive` };
  }
  if (activation === "sigmoid") {
    return { scale: 1, legend: `brightness = activation, from 0 (dark, off) to 1 (bright, fully on). ` +
      `${count((v) => v > 0.5)} of ${values.length} more than half on` };
  }
  if (activation === "relu") {
    return { scale: top || 1, legend: `brightness = activation (brightest ${fixed(top, 2)}); ` +
      `${count((v) => v > 0)} of ${values.length} firing, the rest silent (0)` };
  }
  return { scale: top || 1, legend: `amber: positive, blue: negative; brighter = larger (largest ${fixed(top, 2)})` };
}

export function colour(value, scale) {
  if (!Number.isFinite(value)) return "#6b7280";
  return value >= 0 ? lit(value / scale) : cool(-value / scale);
}

// One sentence for a screen reader: the neuron's value and what it means for its activation.
function announce(j, value, activation) {
  const v = fixed(value, 3);
  if (activation === "relu") return `neuron ${j}: ${value > 0 ? `fires, ${v}` : "silent, 0"}`;
  if (activation === "sigmoid") return `neuron ${j}: ${v} (0 off, 1 fully on)`;
  return `neuron ${j}: ${v}`;
}

export function createLayerGrid(root, { layer, units, activation, title, onSelect = () => {} }) {
  const cols = Math.max(1, Math.ceil(Math.sqrt(units)));
  const heading = el("h3", { class: "layer-title", text: title });
  const grid = el("div", { class: "neuron-grid", role: "group", "aria-label": `${title}: arrow keys move, Enter inspects`,
    "data-layer": layer, style: `--cols:${cols};--pitch:${Math.max(10, Math.min(44, Math.floor(352 / cols)))}px` });
  const cells = [];
  for (let j = 0; j < units; j++) {
    cells.push(el("button", { class: "neuron", type: "button", "data-testid": `neuron-${layer}-${j}`, "data-neuron": j,
      "data-layer": layer, tabindex: j === 0 ? 0 : -1, "aria-label": `neuron ${j}` }));
  }
  grid.append(...cells);
  const legend = el("div", { class: "legend-row" }, el("span", { class: `swatch-scale ${activation}`, "aria-hidden": "true" }),
    el("span", { class: "layer-legend", text: "brightness = activation" }));
  root.replaceChildren(heading, grid, legend);

  let focused = 0;
  let values = null;
  const moveTo = (j, focus = true) => {
    cells[focused].tabIndex = -1;
    focused = j;
    cells[j].tabIndex = 0;
    if (focus) cells[j].focus();
  };
  grid.addEventListener("click", (event) => {
    const b = event.target.closest(".neuron");
    if (b) { moveTo(Number(b.dataset.neuron), false); onSelect(Number(b.dataset.neuron)); }
  });
  grid.addEventListener("keydown", (event) => {
    if (!event.target.closest(".neuron")) return;
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); onSelect(focused); return; }
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols, Home: -focused, End: units - 1 - focused };
    if (!(event.key in moves)) return;
    event.preventDefault();
    moveTo(Math.max(0, Math.min(units - 1, focused + moves[event.key])));
  });
  grid.addEventListener("focusin", (event) => {       // clicking or tabbing onto a cell makes it the tab stop
    const b = event.target.closest(".neuron");
    if (b && Number(b.dataset.neuron) !== focused) moveTo(Number(b.dataset.neuron), false);
  });
  grid.addEventListener("mouseover", (event) => {
    const b = event.target.closest(".neuron");
    if (b && values) b.title = `${title}, neuron ${b.dataset.neuron}: ${activation}(z) = ${fixed(values[Number(b.dataset.neuron)], 3)}`;
  });

  return {
    element: grid, cells, units, layer,
    render(activations) {
      values = activations;
      if (!activations) {
        for (let j = 0; j < units; j++) { cells[j].style.background = ""; cells[j].setAttribute("aria-label", `neuron ${j}`); }
        legend.lastChild.textContent = "brightness = activation";
        return;
      }
      const { scale, legend: text } = brightness(activations, activation);
      for (let j = 0; j < units; j++) {
        cells[j].style.background = colour(activations[j], scale);
        cells[j].setAttribute("aria-label", announce(j, activations[j], activation));
      }
      legend.lastChild.textContent = text;
    },
    mark({ up = [], down = [], selected = null } = {}) {
      cells.forEach((b, j) => {
        b.classList.toggle("push-up", up.includes(j));
        b.classList.toggle("push-down", down.includes(j));
        b.classList.toggle("selected", j === selected);
        if (j === selected) b.setAttribute("aria-current", "true"); else b.removeAttribute("aria-current");
      });
    },
    focusCell(j) { moveTo(j); },
  };
}

export function createOutputs(root, { names, onSelect = () => {} }) {
  // The button's name is what it shows - "7", "100.0%" - with the words a screen reader needs between.
  const rows = names.map((name, k) => el("button", { class: "output-row", type: "button", "data-output": k,
    "data-testid": `output-${k}`, onclick: () => onSelect(k) },
    el("span", { class: "visually-hidden", text: "output " }),
    el("span", { class: "digit", text: name }),
    el("span", { class: "visually-hidden", text: ": " }),
    el("span", { class: "bar", "aria-hidden": "true" }, el("span")),
    el("span", { class: "prob", "data-testid": `prob-${k}`, text: "\u2013" })));
  root.replaceChildren(...rows);
  return {
    rows,
    render(probs, prediction) {
      rows.forEach((row, k) => {
        const p = probs ? probs[k] : null;
        row.classList.toggle("top", probs !== null && k === prediction);
        row.querySelector(".bar span").style.width = probs && Number.isFinite(p) ? `${(100 * p).toFixed(2)}%` : "0";
        row.querySelector(".prob").textContent = probs ? percent(p) : "\u2013";
      });
    },
    mark(k) {
      rows.forEach((row, i) => {
        row.classList.toggle("selected", i === k);
        if (i === k) row.setAttribute("aria-current", "true"); else row.removeAttribute("aria-current");
      });
    },
  };
}
