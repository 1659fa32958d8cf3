// The flatten strip: the prepared digit's 28 rows laid end to end as 784 inputs, and a lookup from
// an input back to its pixel. The lookup works by pointing (a mouse hovering), by tapping or
// clicking (it stays), and from the keyboard: the strip is a slider, the arrow keys step one input
// (Page Up / Down one row), Home and End go to the ends.
//
//   const strip = createStrip(canvas, info, { onPixel });
//   strip.render(flatten)         // /api/predict's "flatten": {strip, starts, width}, or null

import { el } from "./state.js";

const HELP = "row 0 is inputs 0\u201327, row 1 is inputs 28\u201355, \u2026 row 27 is inputs 756\u2013783. " +
  "Point at, tap or (with the arrow keys) step along the strip to find a pixel.";

export function createStrip(canvas, info, { onPixel = () => {} } = {}) {
  let flatten = null;
  let pinned = null;        // the input a tap, a click or the keyboard chose

  function draw() {
    const width = Math.max(784, Math.round(canvas.clientWidth * (window.devicePixelRatio || 1)));
    canvas.width = width;
    canvas.height = 28;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, width, 28);
    if (!flatten) return;
    const values = flatten.strip;
    const n = values.length;
    for (let i = 0; i < n; i++) {
      const v = values[i];
      if (!v) continue;
      const x0 = Math.floor(i * width / n), x1 = Math.floor((i + 1) * width / n);
      ctx.fillStyle = `rgb(${v},${v},${v})`;
      ctx.fillRect(x0, 0, Math.max(1, x1 - x0), 28);
    }
    ctx.fillStyle = "rgba(99, 102, 241, .75)";           // where each row of the image begins
    for (const start of flatten.starts) ctx.fillRect(Math.floor(start * width / n), 22, 1, 6);
    if (pinned !== null) {
      ctx.fillStyle = "rgba(165, 180, 252, .95)";
      ctx.fillRect(Math.floor(pinned * width / n) - 1, 0, Math.max(3, Math.ceil(width / n) + 2), 28);
    }
  }

  function pixelOf(i) {
    let row = 0;
    while (row + 1 < flatten.starts.length && flatten.starts[row + 1] <= i) row++;
    return [row, i - flatten.starts[row]];
  }

  function describe(i) {
    if (!flatten) { info.textContent = HELP; onPixel(null); return; }
    const [row, col] = pixelOf(i);
    const text = `input ${i} is pixel (row ${row}, column ${col}): ${flatten.width} \u00d7 ${row} + ${col} = ${i}, value ${flatten.strip[i]} of 255`;
    info.replaceChildren("input ", el("b", { text: String(i) }), ` is pixel (row ${row}, column ${col}): ` +
      `${flatten.width} \u00d7 ${row} + ${col} = ${i}, value ${flatten.strip[i]} of 255`);
    canvas.setAttribute("aria-valuenow", String(i));
    canvas.setAttribute("aria-valuetext", text);
    onPixel([row, col]);
  }

  function at(event) {
    const rect = canvas.getBoundingClientRect();
    const n = flatten.strip.length;
    return Math.min(n - 1, Math.max(0, Math.floor((event.clientX - rect.left) / rect.width * n)));
  }

  canvas.addEventListener("pointermove", (event) => {
    if (!flatten || event.pointerType !== "mouse") return;
    describe(at(event));
  });
  canvas.addEventListener("pointerleave", (event) => {
    if (event.pointerType !== "mouse") return;
    if (pinned !== null && flatten) describe(pinned); else { info.textContent = HELP; onPixel(null); }
  });
  canvas.addEventListener("pointerdown", (event) => {
    if (!flatten) return;
    pinned = at(event);
    draw();
    describe(pinned);
  });
  canvas.addEventListener("keydown", (event) => {
    if (!flatten) return;
    const n = flatten.strip.length;
    const steps = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1, PageUp: flatten.width, PageDown: -flatten.width };
    let next;
    if (event.key in steps) next = (pinned ?? -1) + steps[event.key];
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = n - 1;
    else return;
    event.preventDefault();
    pinned = Math.max(0, Math.min(n - 1, next));
    draw();
    describe(pinned);
  });
  window.addEventListener("resize", draw);

  return {
    render(value) {
      flatten = value;
      draw();
      if (!flatten) {
        pinned = null;
        info.textContent = HELP;
        canvas.setAttribute("aria-valuetext", "no digit yet");
      } else if (pinned !== null) describe(pinned);
      else canvas.setAttribute("aria-valuetext", "pick an input with the arrow keys");
    },
  };
}
