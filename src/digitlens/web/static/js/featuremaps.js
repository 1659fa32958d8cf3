// The Draw tab's convolutional layers: each Conv2D's feature maps and each pooling layer's pooled
// maps for the digit on the board, one small picture per channel, lit as you draw. The numbers are
// /api/predict's "maps" (the model's own forward pass; one byte a value in a PNG, one scale per layer, so
// a weak map looks weak beside a strong one). A click on a map inspects it: its filter's kernel and
// the map enlarged (inspect.js, /api/maps/detail).
//
// Which layers appear is read from each layer's description ("maps": "feature maps", "pooled
// maps", ...), never from its class; a network of Dense layers has none, and this card stays hidden
// while the flatten strip shows instead.

import { diverging } from "./colors.js";
import { el, emit, on, state } from "./state.js";

let card, root, flattenNote, stripCard;
let blocks = [];            // one per map layer: {position, cells: [{button, canvas}], shape}
let builtFor = null;

// The model's layers that make maps, each with its position in the model (what /api/maps/detail takes).
export function mapLayers(model) {
  return model ? model.layers.map((layer, position) => ({ ...layer, position })).filter((layer) => layer.maps) : [];
}

export function setup() {
  card = document.getElementById("fmaps-card");
  root = document.getElementById("fmaps-layers");
  flattenNote = document.getElementById("fmaps-flatten");
  stripCard = document.getElementById("strip-card");
  on("model", build);
  on("prediction", render);
  on("inspect", (what) => mark(what && what.kind === "map" ? what : null));
}

function build(model) {
  const layers = mapLayers(model);
  card.hidden = layers.length === 0;
  stripCard.hidden = layers.length > 0;      // the pixels are not what the Dense layers read
  document.getElementById("tip-step3").textContent = layers.length ? "convolved and pooled" : "flattened";
  document.getElementById("tip-click").textContent = layers.length ? "map, a neuron" : "neuron";
  document.getElementById("inspect-maps-help").hidden = layers.length === 0;
  if (!model) { root.replaceChildren(); blocks = []; builtFor = null; return; }
  if (builtFor === model.version) return;
  builtFor = model.version;
  blocks = layers.map(block);
  root.replaceChildren(...blocks.map((b) => b.element));
  flattenNote.textContent = flattenText(model);
  if (state.prediction) render(state.prediction);
}

// What happens between the last maps and the first Dense layer, in the layers' own words:
// "Flatten lays the 13 x 13 x 4 input end to end as 676 numbers: ... dense (Dense 8 relu) reads those 676 numbers (step 4)."
function flattenText(model) {
  const first = model.layers.findIndex((layer) => layer.fully_connected);
  if (first < 0) return "";
  let last = -1;
  model.layers.forEach((layer, k) => { if (k < first && layer.maps) last = k; });
  const steps = model.layers.slice(last + 1, first).filter((layer) => layer.what).map((layer) => `${layer.name} ${layer.what}`).join("; then ");
  const dense = model.layers[first];
  return `${steps ? `${steps[0].toUpperCase()}${steps.slice(1)}. ` : ""}${dense.name} (${dense.label}) reads those ` +
    `${dense.input_shape[0].toLocaleString()} numbers (step ${model.hidden.length ? 4 : 5}).`;
}

function block(layer) {
  const [height, width, channels] = layer.output_shape;
  const one = layer.maps.replace(/s$/, "");
  const cells = [];
  let focused = 0;
  const grid = el("div", { class: "fmap-grid", role: "group", "data-layer": layer.position,
    "aria-label": `${layer.name}: ${channels} ${layer.maps}; arrow keys move, Enter inspects`,
    style: `--side:${Math.max(28, Math.min(64, Math.round(2.2 * width)))}px` });
  for (let j = 0; j < channels; j++) {
    const canvas = el("canvas", { width, height, "aria-hidden": "true" });
    const button = el("button", { class: "fmap", type: "button", tabindex: j === 0 ? 0 : -1,
      "data-testid": `fmap-${layer.position}-${j}`, "data-channel": j, "aria-label": `${one} ${j} of ${layer.name}`,
      title: `${layer.name}, ${one} ${j}: click to inspect`,
      onclick: () => { move(j, false); emit("inspect", { kind: "map", layer: layer.position, index: j }); } }, canvas);
    cells.push({ button, canvas });
  }
  const move = (j, focus = true) => {
    cells[focused].button.tabIndex = -1;
    focused = Math.max(0, Math.min(channels - 1, j));
    cells[focused].button.tabIndex = 0;
    if (focus) cells[focused].button.focus();
  };
  grid.addEventListener("keydown", (event) => {
    const cols = Math.max(1, Math.round(grid.clientWidth / (cells[0].button.offsetWidth + 4)) || 8);
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols, Home: -focused, End: channels - 1 - focused };
    if (!(event.key in moves)) return;
    event.preventDefault();
    move(focused + moves[event.key]);
  });
  grid.addEventListener("focusin", (event) => {      // clicking or tabbing onto a map makes it the tab stop
    const button = event.target.closest(".fmap");
    if (button && Number(button.dataset.channel) !== focused) move(Number(button.dataset.channel), false);
  });
  grid.append(...cells.map((c) => c.button));
  const element = el("div", { class: "fmap-block", "data-testid": `fmaps-${layer.position}` },
    el("h3", { class: "layer-title" }, el("span", { text: `${layer.name}: ${layer.label}` }),
      el("span", { class: "muted small", text: ` \u2014 ${channels} ${layer.maps} of ${height}\u00d7${width}` })),
    grid, el("p", { class: "muted small fmap-legend", text: "" }));
  return { position: layer.position, one, name: layer.name, maps: layer.maps, cells, shape: [height, width, channels], element };
}

// Paint every map of every block from /api/predict's PNGs (one byte a value; see packing.py).
let painting = 0;           // only the latest answer is painted, however the decoding interleaves
async function render(p) {
  const ticket = ++painting;
  card.dataset.painting = "true";          // the browser tests wait for "false": the maps shown are the answer's
  const decoded = await Promise.all(blocks.map((b) => {
    const found = p && p.maps ? p.maps.find((m) => m.position === b.position) : null;
    return found ? decodeMaps(found.pixels).then((bytes) => ({ found, bytes })) : null;
  })).catch(() => null);
  if (ticket !== painting) return;
  if (decoded) blocks.forEach((b, k) => paint(b, decoded[k]));
  card.dataset.painting = "false";
}

// The PNG's bytes as one Uint8Array (C x H x W, channel first), read back through a canvas.
async function decodeMaps(packed) {
  const [channels, height, width] = packed.shape;
  const image = new Image();
  image.src = packed.png;
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = channels * width; canvas.height = height;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(image, 0, 0);
  const rgba = ctx.getImageData(0, 0, channels * width, height).data;
  const bytes = new Uint8Array(channels * height * width);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < channels; c++) {
      for (let x = 0; x < width; x++) bytes[(c * height + r) * width + x] = rgba[4 * (r * channels * width + c * width + x)];
    }
  }
  return bytes;
}

function paint(b, decoded) {
  const legendText = b.element.querySelector(".fmap-legend");
  if (!decoded) {
    for (const { canvas } of b.cells) canvas.getContext("2d").clearRect(0, 0, canvas.width, canvas.height);
    legendText.textContent = "";
    return;
  }
  const { found, bytes } = decoded;
  const packed = found.pixels;
  const [channels, height, width] = packed.shape;
  const table = palette(packed.signed);
  b.cells.forEach(({ canvas, button }, j) => {
    const ctx = canvas.getContext("2d");
    const img = ctx.createImageData(width, height);
    let top = 0;
    for (let i = 0; i < width * height; i++) {
      const v = bytes[j * width * height + i];
      const [r, g, bl] = table[v];
      img.data[4 * i] = r; img.data[4 * i + 1] = g; img.data[4 * i + 2] = bl; img.data[4 * i + 3] = 255;
      top = Math.max(top, packed.signed ? Math.abs(v - 128) / 127 : v / 255);
    }
    ctx.putImageData(img, 0, 0);
    button.setAttribute("aria-label", `${b.one} ${j} of ${b.name}: strongest ${(top * packed.limit).toFixed(2)}`);
  });
  legendText.textContent = packed.signed
    ? `blue: positive, red: negative, white: 0; on one scale for the layer (\u00b1${packed.limit.toFixed(2)})`
    : `black: 0, white: the layer's strongest value (${packed.limit.toFixed(2)}); one scale for all ${channels} maps`;
}

const palettes = {};
function palette(signed) {
  const key = signed ? "signed" : "plain";
  if (!palettes[key]) {
    palettes[key] = Array.from({ length: 256 }, (_, v) => (signed ? diverging((v - 128) / 127, 1) : [v, v, v]));
  }
  return palettes[key];
}

function mark(what) {
  for (const b of blocks) {
    b.cells.forEach(({ button }, j) => {
      const on = !!what && what.layer === b.position && what.index === j;
      button.classList.toggle("selected", on);
      if (on) button.setAttribute("aria-current", "true"); else button.removeAttribute("aria-current");
    });
  }
}
