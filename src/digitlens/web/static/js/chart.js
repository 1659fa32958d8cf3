// A small line chart on a canvas: each series a line (with dots if asked), and marks: vertical
// lines with a label (where a run diverged). Draws what it is given; computes nothing but
// positions. A value of null (the API's word for NaN) is left out, with a gap in the line; a value
// beyond the axis is drawn at its edge.

export function lineChart(canvas, { title, xMax, yMin = 0, yMax, series, xLabel = "epoch", format = (v) => v.toFixed(2), divisions = 4, marks = [] }) {
  const ratio = window.devicePixelRatio || 1;
  const W = canvas.clientWidth || 400, H = canvas.clientHeight || 220;
  canvas.width = Math.round(W * ratio);
  canvas.height = Math.round(H * ratio);
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, W, H);
  const pad = { left: 42, right: 10, top: 22, bottom: 26 };
  const w = W - pad.left - pad.right, h = H - pad.top - pad.bottom;
  const X = (x) => pad.left + (xMax > 0 ? x / xMax : 0) * w;
  const Y = (y) => pad.top + (1 - (Math.min(Math.max(y, yMin), yMax) - yMin) / (yMax - yMin || 1)) * h;

  ctx.font = "600 12px system-ui, sans-serif";
  ctx.fillStyle = "#1d2233";
  ctx.fillText(title, pad.left, 14);
  ctx.font = "11px system-ui, sans-serif";
  ctx.strokeStyle = "#eceef4";
  ctx.fillStyle = "#8a93a6";
  ctx.lineWidth = 1;
  for (let i = 0; i <= divisions; i++) {
    const v = yMin + (yMax - yMin) * i / divisions;
    const y = Math.round(Y(v)) + 0.5;
    ctx.beginPath(); ctx.moveTo(pad.left, y); ctx.lineTo(W - pad.right, y); ctx.stroke();
    ctx.textAlign = "right";
    ctx.fillText(format(v), pad.left - 5, y + 4);
  }
  ctx.textAlign = "center";
  const ticks = Math.min(10, Math.max(1, Math.ceil(xMax)));
  for (let i = 0; i <= ticks; i++) {
    const x = xMax * i / ticks;
    ctx.fillText(Number.isInteger(x) ? String(x) : x.toFixed(1), X(x), H - 9);
  }
  ctx.textAlign = "right";
  ctx.fillText(`x: ${xLabel}s`, W - pad.right, 14);

  for (const s of series) {
    if (!s.points.length) continue;
    ctx.strokeStyle = s.color;
    ctx.fillStyle = s.color;
    ctx.lineWidth = s.width || 1;
    ctx.beginPath();
    let down = false;                  // a null value (a loss that is not a number) leaves a gap
    for (const [x, y] of s.points) {
      if (!Number.isFinite(y)) { down = false; continue; }
      if (down) ctx.lineTo(X(x), Y(y)); else ctx.moveTo(X(x), Y(y));
      down = true;
    }
    ctx.stroke();
    if (s.dots) {
      for (const [x, y] of s.points) {
        if (Number.isFinite(y)) { ctx.beginPath(); ctx.arc(X(x), Y(y), 3.5, 0, 2 * Math.PI); ctx.fill(); }
      }
    }
  }
  for (const mark of marks) {
    const x = Math.round(X(Math.min(mark.x, xMax))) + 0.5;
    ctx.strokeStyle = mark.color;
    ctx.fillStyle = mark.color;
    ctx.lineWidth = 1.5;
    ctx.setLineDash([4, 3]);
    ctx.beginPath(); ctx.moveTo(x, pad.top); ctx.lineTo(x, pad.top + h); ctx.stroke();
    ctx.setLineDash([]);
    ctx.font = "600 11px system-ui, sans-serif";
    const right = x + 4 + ctx.measureText(mark.label).width < W - pad.right;
    ctx.textAlign = right ? "left" : "right";
    ctx.fillText(mark.label, right ? x + 4 : x - 4, pad.top + 12);
  }
}
