// A drawing pad: a canvas of MNIST's white ink on black that a mouse, a finger, a pen or the
// keyboard draws on. It knows nothing about the network: it says when the drawing changed, and
// whoever made it decides what to do (the Draw tab sends it to /api/predict).
//
//   const pad = createPad(canvas, { cursor, hint, onChange, onClear });
//   pad.clear(); pad.showPixels(rows28x28); await pad.showPicture(url); pad.toDataURL(side); pad.kind
//
// onChange(final) is called while drawing (final false) and when a stroke ends (final true).
// Keyboard: arrow keys move the pen (Shift: bigger steps), Space or Enter puts it down or lifts
// it, Delete or Backspace clears; `cursor` (an element over the canvas) shows where the pen is.

export function createPad(canvas, { cursor = null, hint = null, onChange = () => {}, onClear = () => {} } = {}) {
  const ctx = canvas.getContext("2d");
  let kind = "empty";          // "empty", "drawing", "picture" (a photo), "pixels" (a prepared digit)
  let drawing = false;
  let points = [];
  let received = 0;
  const keys = { x: canvas.width / 2, y: canvas.height / 2, down: false };

  function pen() {
    ctx.globalCompositeOperation = "source-over";
    ctx.strokeStyle = "#fff";
    ctx.fillStyle = "#fff";
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = canvas.width / 14;   // about MNIST's stroke once scaled into 20x20
  }

  function blank() {
    ctx.globalCompositeOperation = "source-over";
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  }

  function clear() {
    blank();
    kind = "empty";
    if (hint) hint.hidden = false;
  }

  function begin() {
    if (kind === "picture") blank();      // a photo is not drawn on: start afresh
    kind = "drawing";
    if (hint) hint.hidden = true;
  }

  function dot(x, y) {
    pen();
    ctx.beginPath();
    ctx.arc(x, y, ctx.lineWidth / 2, 0, 2 * Math.PI);
    ctx.fill();
  }

  function segment(a, b) {
    pen();
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
  }

  // ---- pointer: mouse, finger, pen --------------------------------------------------------------

  function position(event) {
    const rect = canvas.getBoundingClientRect();
    return [(event.clientX - rect.left) * canvas.width / rect.width, (event.clientY - rect.top) * canvas.height / rect.height];
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== undefined && event.button > 0) return;
    event.preventDefault();
    canvas.setPointerCapture(event.pointerId);
    begin();
    drawing = true;
    points = [position(event)];
    received = 1;
    dot(...points[0]);
    onChange(false);
  });

  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    event.preventDefault();
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    pen();
    for (const e of events.length ? events : [event]) {
      points.push(position(e));
      received += 1;
      if (received === 2) {          // the first segment: from where the pen came down to the midpoint
        const [p0, p1] = points;
        segment(p0, [(p0[0] + p1[0]) / 2, (p0[1] + p1[1]) / 2]);
      }
      // Smoothing: a quadratic curve from midpoint to midpoint, bending towards each pointer position.
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
  });

  function endStroke() {
    if (!drawing) return;
    drawing = false;
    if (points.length >= 2) {
      const [a, b] = points.slice(-2);
      segment([(a[0] + b[0]) / 2, (a[1] + b[1]) / 2], b);
    }
    points = [];
    onChange(true);
  }
  canvas.addEventListener("pointerup", endStroke);
  canvas.addEventListener("pointercancel", endStroke);

  // ---- keyboard: a pen moved with the arrow keys --------------------------------------------------

  function showCursor() {
    if (!cursor) return;
    const rect = canvas.getBoundingClientRect();
    const scale = rect.width / canvas.width;
    cursor.hidden = false;
    cursor.classList.toggle("down", keys.down);
    cursor.style.left = `${keys.x * scale}px`;
    cursor.style.top = `${keys.y * scale}px`;
    cursor.style.width = cursor.style.height = `${canvas.width / 14 * scale}px`;
  }

  canvas.addEventListener("focus", showCursor);
  canvas.addEventListener("blur", () => {
    if (cursor) cursor.hidden = true;
    if (keys.down) { keys.down = false; onChange(true); }
  });
  canvas.addEventListener("keydown", (event) => {
    const step = event.shiftKey ? canvas.width / 8 : canvas.width / 28;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (event.key in moves) {
      event.preventDefault();
      const from = [keys.x, keys.y];
      const [dx, dy] = moves[event.key];
      keys.x = Math.max(0, Math.min(canvas.width, keys.x + dx));
      keys.y = Math.max(0, Math.min(canvas.height, keys.y + dy));
      if (keys.down) { segment(from, [keys.x, keys.y]); onChange(false); }
    } else if (event.key === " " || event.key === "Enter") {
      event.preventDefault();
      keys.down = !keys.down;
      if (keys.down) { begin(); dot(keys.x, keys.y); onChange(false); } else onChange(true);
    } else if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      keys.down = false;
      clear();
      onClear();
    } else {
      return;
    }
    showCursor();
  });

  // ---- pictures and prepared digits -------------------------------------------------------------

  // An image (a data URL), fitted into the board without distortion.
  function showPicture(url) {
    return new Promise((resolve) => {
      const image = new Image();
      image.onload = () => {
        const scale = Math.min(canvas.width / image.width, canvas.height / image.height);
        const w = image.width * scale, h = image.height * scale;
        blank();
        ctx.drawImage(image, (canvas.width - w) / 2, (canvas.height - h) / 2, w, h);
        resolve(true);
      };
      image.onerror = () => resolve(false);     // not a picture the browser draws (a .npy file)
      blank();
      kind = "picture";
      if (hint) hint.hidden = true;
      image.src = url;
    });
  }

  // A prepared 28x28 digit (0-255 rows), shown enlarged. Drawing on it afterwards adds to it.
  function showPixels(pixels) {
    blank();
    if (hint) hint.hidden = true;
    const small = document.createElement("canvas");
    small.width = small.height = 28;
    const sctx = small.getContext("2d");
    const img = sctx.createImageData(28, 28);
    const values = pixels.flat();
    for (let i = 0; i < 784; i++) {
      img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = values[i];
      img.data[4 * i + 3] = 255;
    }
    sctx.putImageData(img, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
    ctx.imageSmoothingEnabled = true;
    kind = "pixels";
  }

  // What is on the board, to put back if a new picture fails (see snapshot / restore).
  function snapshot() {
    return { kind, image: ctx.getImageData(0, 0, canvas.width, canvas.height), hint: hint ? hint.hidden : null };
  }

  function restore(saved) {
    ctx.putImageData(saved.image, 0, 0);
    kind = saved.kind;
    if (hint && saved.hint !== null) hint.hidden = saved.hint;
  }

  // The board as a PNG; with `side`, shrunk to side x side first (the browser averages the pixels,
  // so every stroke stays, fainter where it was thin).
  function toDataURL(side) {
    if (!side || side >= canvas.width) return canvas.toDataURL("image/png");
    const small = document.createElement("canvas");
    small.width = small.height = side;
    const context = small.getContext("2d");
    context.imageSmoothingEnabled = true;
    context.imageSmoothingQuality = "high";
    context.drawImage(canvas, 0, 0, side, side);
    return small.toDataURL("image/png");
  }

  clear();
  return {
    clear, showPicture, showPixels, snapshot, restore,
    toDataURL,
    get kind() { return kind; },
    set kind(value) { kind = value; },
  };
}
