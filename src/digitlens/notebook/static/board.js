// The drawing board of the notebook's pad: strokes with the mouse, a finger or a pen on a canvas,
// smoothed as the web app's board smooths them, and the grey copy of the canvas that Python keeps.
// This file only draws and reports which pixels changed; preparing the digit and running the
// network happen in Python (digitlens/notebook/pad.py).

export const CANVAS = 280;       // the canvas's pixels on a side
export const SCALE = 2;          // Python's board is the canvas averaged over SCALE x SCALE

export function createBoard(canvas, { onChange, onStart }) {
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  const side = CANVAS / SCALE;
  let last = new Uint8Array(side * side);      // the board as Python has it
  let drawing = false, points = [], received = 0;

  function blank() {
    ctx.globalCompositeOperation = "source-over";
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, CANVAS, CANVAS);
  }

  function pen() {
    ctx.strokeStyle = "#fff";
    ctx.fillStyle = "#fff";
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = CANVAS / 14;               // about MNIST's stroke once scaled into 20 x 20
  }

  function position(event) {
    const rect = canvas.getBoundingClientRect();
    return [(event.clientX - rect.left) * CANVAS / rect.width, (event.clientY - rect.top) * CANVAS / rect.height];
  }

  function start(event) {
    if (event.button !== undefined && event.button > 0) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    drawing = true;
    points = [position(event)];
    received = 1;
    pen();
    const [x, y] = points[0];
    ctx.beginPath();
    ctx.arc(x, y, ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
    onStart();
    onChange(false);
  }

  function move(event) {
    if (!drawing) return;
    event.preventDefault();
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    pen();
    for (const e of events.length ? events : [event]) {
      points.push(position(e));
      received += 1;
      if (received === 2) {                      // the first segment: to the midpoint
        const [p0, p1] = points;
        ctx.beginPath();
        ctx.moveTo(p0[0], p0[1]);
        ctx.lineTo((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2);
        ctx.stroke();
      }
      // Smoothing: a quadratic curve from midpoint to midpoint, bending towards each position.
      while (points.length >= 3) {
        const [p0, p1, p2] = points;
        ctx.beginPath();
        ctx.moveTo((p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2);
        ctx.quadraticCurveTo(p1[0], p1[1], (p1[0] + p2[0]) / 2, (p1[1] + p2[1]) / 2);
        ctx.stroke();
        points.shift();
      }
    }
    onChange(false);
  }

  function end() {
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
    onChange(true);
  }

  canvas.addEventListener("pointerdown", start);
  canvas.addEventListener("pointermove", move);
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  blank();

  // The grey board now: each board pixel the mean of its SCALE x SCALE canvas pixels (red channel;
  // the strokes are grey).
  function current() {
    const rgba = ctx.getImageData(0, 0, CANVAS, CANVAS).data;
    const board = new Uint8Array(side * side);
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        let sum = 0;
        for (let dr = 0; dr < SCALE; dr++) {
          for (let dc = 0; dc < SCALE; dc++) sum += rgba[4 * ((r * SCALE + dr) * CANVAS + c * SCALE + dc)];
        }
        board[r * side + c] = Math.round(sum / (SCALE * SCALE));
      }
    }
    return board;
  }

  return {
    side,
    // The rectangle of the board that changed since the last call, as {x, y, w, h, bytes}, or null;
    // what it returns counts as sent.
    changes() {
      const board = current();
      let top = side, bottom = -1, left = side, right = -1;
      for (let r = 0; r < side; r++) {
        for (let c = 0; c < side; c++) {
          if (board[r * side + c] !== last[r * side + c]) {
            if (r < top) top = r;
            if (r > bottom) bottom = r;
            if (c < left) left = c;
            if (c > right) right = c;
          }
        }
      }
      if (bottom < 0) return null;
      const w = right - left + 1, h = bottom - top + 1;
      const bytes = new Uint8Array(w * h);
      for (let r = 0; r < h; r++) bytes.set(board.subarray((top + r) * side + left, (top + r) * side + left + w), r * w);
      last = board;
      return { x: left, y: top, w, h, bytes };
    },
    // Paint a board that came from Python (side x side grey values) and take it as sent.
    load(values) {
      const small = document.createElement("canvas");
      small.width = small.height = side;
      const sctx = small.getContext("2d");
      const img = sctx.createImageData(side, side);
      for (let i = 0; i < side * side; i++) {
        img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = values[i];
        img.data[4 * i + 3] = 255;
      }
      sctx.putImageData(img, 0, 0);
      blank();
      ctx.imageSmoothingEnabled = false;
      ctx.drawImage(small, 0, 0, CANVAS, CANVAS);
      ctx.imageSmoothingEnabled = true;
      last = current();
    },
    clear() {
      blank();
      last = new Uint8Array(side * side);
    },
    get drawing() { return drawing; },
  };
}
