// Colour scales and small picture helpers. Only drawing: values arrive from the API.
//
// Weights and changes use one diverging scale centred on zero: red for negative, white for zero,
// blue for positive, symmetric so that equal sizes get equal strength whatever their sign. Its 256
// colours come from the server (/api/colormap), computed by digitlens.viz, so a weight has the same
// colour here as in a report; loadColors() fetches them before anything is drawn.

import { get } from "./api.js";

let TABLE = null;                       // 256 [r, g, b] rows, from -limit (row 0) to +limit (row 255)
const MISSING = [150, 150, 150];        // a value that is not a number (a run that diverged)

export async function loadColors() {
  TABLE = (await get("/api/colormap")).colors;
}

// The same 256 colours given directly, where there is no server to ask (the notebook's widgets
// receive them from Python with their data).
export function setColors(colors) {
  TABLE = colors;
}

// The colour of `value` on the scale -limit..+limit: row floor((v / limit + 1) / 2 * 256), as
// matplotlib looks up a colour, so the pixel equals digitlens.viz's.
export function diverging(value, limit) {
  if (value === null || !Number.isFinite(value) || !TABLE) return MISSING;
  const t = limit > 0 && Number.isFinite(limit) ? Math.max(-1, Math.min(1, value / limit)) : 0;
  return TABLE[Math.min(TABLE.length - 1, Math.floor((t + 1) / 2 * TABLE.length))];
}

// The scale as a CSS gradient, for legends.
export function divergingGradient(stops = 17) {
  if (!TABLE) return "";
  const colors = [];
  for (let i = 0; i < stops; i++) {
    const [r, g, b] = TABLE[Math.round(i / (stops - 1) * (TABLE.length - 1))];
    colors.push(`rgb(${r},${g},${b})`);
  }
  return `linear-gradient(90deg, ${colors.join(", ")})`;
}

// A neuron lit by its activation: dark when silent, through amber to pale yellow at the layer's top.
const LIT = [[31, 36, 51], [160, 90, 0], [255, 176, 32], [255, 244, 207]];
export function lit(t) {
  t = Math.max(0, Math.min(1, t));
  const x = t * (LIT.length - 1);
  const i = Math.min(LIT.length - 2, Math.floor(x));
  const f = x - i;
  const a = LIT[i], b = LIT[i + 1];
  return `rgb(${a[0] + (b[0] - a[0]) * f | 0},${a[1] + (b[1] - a[1]) * f | 0},${a[2] + (b[2] - a[2]) * f | 0})`;
}

// The largest |value|, ignoring values that are not finite numbers.
export function maxAbs(values, start = 0, end = values.length) {
  let m = 0;
  for (let i = start; i < end; i++) { const v = Math.abs(values[i]); if (v > m && v !== Infinity) m = v; }
  return m;
}

// Flatten nested lists ([[...], ...]) into one array, for drawing.
export function flat(values) {
  return Array.isArray(values[0]) ? values.flat(Infinity) : values;
}

// A grayscale image (values 0-255, light ink on black) into a canvas of the same size.
export function drawGray(canvas, values, width = 28, height = 28) {
  values = flat(values);
  canvas.width = width; canvas.height = height;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(width, height);
  for (let i = 0; i < width * height; i++) {
    const v = values[i];
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = v;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

// Signed values (a weight picture) into a canvas, on the diverging scale +-limit.
export function drawDiverging(canvas, values, width, height, limit, offset = 0) {
  canvas.width = width; canvas.height = height;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(width, height);
  paintDiverging(img.data, 0, width, values, offset, width, height, limit);
  ctx.putImageData(img, 0, 0);
}

// Paint a width x height block of values into RGBA pixels at (x0, y0) of an image `stride` wide.
export function paintDiverging(pixels, startIndex, stride, values, offset, width, height, limit) {
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const [R, G, B] = diverging(values[offset + r * width + c], limit);
      const p = 4 * (startIndex + r * stride + c);
      pixels[p] = R; pixels[p + 1] = G; pixels[p + 2] = B; pixels[p + 3] = 255;
    }
  }
}

// Many 28x28 pictures in a grid on one canvas, all on one scale: weight images, change maps.
export function drawTiles(canvas, data, count, { cols, side = 28, gap = 1, limit, background = 238 }) {
  const rows = Math.ceil(count / cols);
  const W = cols * (side + gap) + gap, H = rows * (side + gap) + gap;
  canvas.width = W; canvas.height = H;
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(W, H);
  img.data.fill(background);
  for (let n = 0; n < count; n++) {
    const x = gap + (n % cols) * (side + gap), y = gap + Math.floor(n / cols) * (side + gap);
    paintDiverging(img.data, y * W + x, W, data, n * side * side, side, side, limit);
  }
  ctx.putImageData(img, 0, 0);
  return { W, H };
}

export function legend(element, limit, digits = 2) {
  const v = Number.isFinite(limit) ? String(Number(limit.toPrecision(digits))) : "?";
  const bar = document.createElement("span");
  bar.className = "bar";
  bar.title = "white = 0";
  bar.style.background = divergingGradient();
  const end = (text) => { const span = document.createElement("span"); span.textContent = text; return span; };
  element.replaceChildren(end(`\u2212${v}`), bar, end(`+${v}`));
}

// Numbers as text. The API sends null for a number that is not one (NaN, infinity: a training
// run that diverged); it shows as a dash.
const NOT_A_NUMBER = "\u2013";
const isNumber = (v) => typeof v === "number" && Number.isFinite(v);

export function percent(p, digits = 1) {
  return isNumber(p) ? `${(100 * p).toFixed(digits)}%` : NOT_A_NUMBER;
}

export function signed(v, digits = 3) {
  if (!isNumber(v)) return NOT_A_NUMBER;
  const size = Math.abs(v);
  // A weight change of 3e-5 would show as +0.0000 with fixed digits: use an exponent for those.
  const text = size !== 0 && size < 10 ** -digits ? size.toExponential(2) : size.toFixed(digits);
  return (v >= 0 ? "+" : "\u2212") + text;
}

export function fixed(v, digits = 3) {
  return isNumber(v) ? (v < 0 ? "\u2212" : "") + Math.abs(v).toFixed(digits) : NOT_A_NUMBER;
}

export function precise(v, digits = 3) {
  return isNumber(v) ? String(Number(v.toPrecision(digits))) : NOT_A_NUMBER;
}
