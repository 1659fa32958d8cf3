// The guided tour: the lesson's ideas in order, each a short explanation next to the live part of
// the network it is about. Numbers in the text come from the API, like everything else.

import { get } from "./api.js";
import { whenDataShown } from "./modeltab.js";
import { el, emit, state } from "./state.js";

const NARROW = 700;       // below this width the card sits at the bottom of the screen, full width
let showTab;
let index = 0;
let active = false;
const resizes = new ResizeObserver(() => active && place());   // the spotlit element changed size

const FLATTEN = `<p>A Dense layer does not see a picture, only a list of numbers. Flatten lays the 28 rows of the
      image end to end: row 0 becomes inputs 0&ndash;27, row 1 inputs 28&ndash;55, and so on, 784 inputs in all.
      Hover over the strip to find which pixel an input came from.</p>`;

const DENSE = `<p>Each neuron of the first hidden layer is connected to <b>all 784 inputs</b>. It multiplies each pixel by its
      own weight, adds them up with a bias, <code>z = &Sigma; pixel &times; weight + bias</code>, and passes z through its
      activation (relu: a negative z becomes 0). A neuron of a later hidden layer does the same with the neurons below it.
      Brighter squares are neurons with larger outputs for your digit.</p>
      <p>Click one to see what drove it, which pixels, and what it pushes into the next layer.</p>`;

const CONVOLUTION = `<p>This network does not flatten the pixels first. Each filter of a Conv2D layer is a small grid of weights
      (3&times;3, say) slid over the image; at each position it multiplies the pixels under it by its weights and adds them up, so its
      <b>feature map</b> lights up where the digit has what the filter looks for - an edge, a stroke's end. Neighbouring pixels stay neighbours.</p>
      <p>A pooling layer then keeps the strongest value of each 2&times;2 window: a quarter of the numbers, and a digit shifted by a pixel
      gives much the same maps. Only then does Flatten lay the maps end to end for the Dense layers. Click a map to see its filter.</p>`;

const STEPS = [
  { tab: "draw", target: null, title: "Welcome to digitlens",
    build: () => [
      el("p", { text: `This page is the network from the lesson, running live: ${architecture()}.` }),
      el("p", { text: "The tour walks through its ideas in order \u2014 the data, flatten, dense connections, parameter " +
        "counts, the random start, training and one step of backprop \u2014 each next to the part of the network it is about." }),
      el("p", { class: "muted small", text: "Use Next and Back, or the arrow keys; Esc closes the tour." })] },
  { tab: "model", target: "#data-card", title: "1. The data", ready: whenDataShown,
    html: `<p>MNIST: 70,000 handwritten digits, each a 28&times;28 grid of pixels from 0 (background) to 255 (ink),
      with the right answer as its label. The network learns from the 60,000 training images and is tested on the other 10,000.</p>
      <p>These are some of the test images. Click one to load it into Draw.</p>` },
  { tab: "draw", target: "#draw-card", title: "2. A digit of your own",
    html: `<p>Draw a digit here. The network only ever saw MNIST, so your drawing is prepared the way MNIST's
      digits were: cropped to the ink, scaled into a 20&times;20 box, and centred by its centre of mass in 28&times;28.
      The three steps appear to the right as you draw.</p>` },
  { tab: "draw", target: "#strip-card:not([hidden]), #fmaps-card:not([hidden])",
    // a network of Dense layers flattens the pixels; a convolutional one first slides its filters over them
    get cnn() { return !document.getElementById("fmaps-card").hidden; },
    get title() { return this.cnn ? "3. Convolution and pooling" : "3. Flatten"; },
    get html() { return this.cnn ? CONVOLUTION : FLATTEN; } },
  { tab: "draw", target: "#hidden-card", title: "4. Dense connections",
    get html() {
      if (document.getElementById("fmaps-card").hidden) return DENSE;
      const first = state.model && state.model.layers.find((layer) => layer.fully_connected);
      const inputs = first ? first.input_shape[0].toLocaleString() : "all the";
      return `<p>After Flatten, each neuron of a Dense layer is connected to <b>all ${inputs} values</b> of the maps below it.
        It multiplies each by its own weight, adds them up with a bias, <code>z = &Sigma; value &times; weight + bias</code>,
        and passes z through its activation. Brighter squares are neurons with larger outputs for your digit.</p>
        <p>Its weights are not one per pixel, so they are not drawn as pictures here: the filters in step 3 are what looks at the pixels.</p>`;
    } },
  { tab: "draw", target: "#output-card", title: "5. The outputs",
    html: `<p>Each of the outputs is connected to every neuron of the last hidden layer the same way, giving one score per
      digit. Softmax turns the scores into probabilities that add up to 1; the largest is the prediction.</p>
      <p>Click an output to see which neurons pushed it up or down.</p>` },
  { tab: "model", target: "#summary-card", title: "6. Counting the parameters",
    build: async () => {
      const r = await get("/api/model");
      const rows = r.parameters.layers.filter((row) => row.params).map((row) => el("li", {}, el("b", { text: row.name }), `: ${row.text}`));
      return [el("p", { text: "Every connection has a weight and every neuron a bias, and all of them are learned:" }),
        el("ul", {}, ...rows),
        el("p", {}, "In total ", el("b", { text: r.parameters.total.toLocaleString() }), ` numbers (${r.parameters.size} as 32-bit floats).`)];
    } },
  { tab: "train", target: ".train-weights", title: "7. A random start",
    html: `<p>Training starts from random weights: each neuron's picture of weights is noise, and the network's
      guesses are no better than chance (about 10%).</p>
      <p>Press <b>Train</b> and watch these pictures take the shapes of the strokes each neuron learns to look for.</p>` },
  { tab: "train", target: ".train-curves", title: "8. Training",
    html: `<p>Training shows the network a batch of images, measures how wrong it was (the loss:
      &minus;log of the probability it gave the right answer), and nudges every weight a little in the direction that
      makes the loss smaller. One pass over all training images is an epoch.</p>
      <p>The light line is each batch, the dots each epoch; teal is the test set the network never trains on.</p>` },
  { tab: "backprop", target: ".bp-layout", title: "9. One step of backprop",
    html: `<p>Here is a single step, up close. Pick the right answer for your digit and take one step: backpropagation
      works out how much each weight is to blame for the error, and the optimizer moves each one against its blame.</p>
      <p>For one image, each first-layer neuron's change is the image itself, scaled by how much that neuron should have
      fired more (blue) or less (red). The right answer's probability rises; take more steps and watch the loss fall.</p>` },
];

function architecture() {
  const m = state.model;
  if (!m) return "784 pixels in, a hidden layer of neurons, 10 outputs";
  return [`${m.input_shape.join("\u00d7")} pixels`, ...m.hidden.map((h) => `${h.units} hidden neurons (${h.activation})`),
    `${m.outputs} outputs (${m.layers[m.layers.length - 1].activation || "no activation"})`].join(" \u2192 ");
}

export function setup(show) {
  showTab = show;
  document.getElementById("tour-start").addEventListener("click", () => open(0));
  document.getElementById("tour-next").addEventListener("click", () => (index < STEPS.length - 1 ? go(index + 1) : close()));
  document.getElementById("tour-back").addEventListener("click", () => go(Math.max(0, index - 1)));
  document.getElementById("tour-close").addEventListener("click", close);
  document.addEventListener("keydown", (event) => {
    if (!active) return;
    if (event.key === "Escape") close();
    if (event.key === "ArrowRight" && !isTyping(event)) go(Math.min(STEPS.length - 1, index + 1));
    if (event.key === "ArrowLeft" && !isTyping(event)) go(Math.max(0, index - 1));
  });
  window.addEventListener("resize", () => active && place());
  window.addEventListener("scroll", () => active && place(), true);
}

function isTyping(event) {
  return ["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName) || event.target.getAttribute("role") === "tab"
    || event.target.closest(".neuron-grid");
}

export async function open(at = 0) {
  active = true;
  document.getElementById("tour").hidden = false;
  if (!state.digit && state.model) {         // give the network something to think about
    try {
      const d = await get("/api/data/test/0");
      emit("load-digit", { pixels: d.image, source: `MNIST test image #0 (a ${d.label})`, label: d.label });
    } catch (error) { /* no data: the tour still works, the network just stays dark */ }
  }
  go(at);
}

function close() {
  active = false;
  resizes.disconnect();
  document.getElementById("tour").hidden = true;
  document.getElementById("tour-start").focus();
}

async function go(i) {
  index = i;
  const step = STEPS[i];
  showTab(step.tab);
  document.getElementById("tour-count").textContent = `step ${i + 1} of ${STEPS.length}`;
  document.getElementById("tour-title").textContent = step.title;
  document.getElementById("tour-back").disabled = i === 0;
  document.getElementById("tour-next").textContent = i === STEPS.length - 1 ? "Finish" : "Next";
  const text = document.getElementById("tour-text");
  try {
    if (step.build) text.replaceChildren(...await step.build());     // with numbers and names from the API
    else text.innerHTML = step.html;                                  // markup written in this file
  } catch (error) {
    text.replaceChildren(el("p", { text: error.message }));
  }
  if (step.ready) {          // the spotlight waits for what it is about (the samples) to be there
    document.getElementById("tour").dataset.waiting = "true";
    await step.ready();
    delete document.getElementById("tour").dataset.waiting;
  }
  if (index !== i || !active) return;
  const target = step.target && document.querySelector(step.target);
  resizes.disconnect();
  if (target) {
    resizes.observe(target);
    target.scrollIntoView({ block: window.innerWidth < NARROW ? "start" : "nearest", behavior: "instant" });
  }
  place();
  document.getElementById("tour-next").focus({ preventScroll: true });
}

// Spotlight the target and put the card beside it, where there is room.
function place() {
  const step = STEPS[index];
  const spot = document.getElementById("tour-spot");
  const card = document.getElementById("tour-card");
  const target = step.target && document.querySelector(step.target);
  const W = window.innerWidth, H = window.innerHeight;
  const cw = card.offsetWidth, ch = card.offsetHeight;
  if (!target) {
    spot.style.cssText = `left:${W / 2}px;top:${H / 2}px;width:0;height:0;outline:none`;
    card.style.left = `${(W - cw) / 2}px`;
    card.style.top = `${Math.max(70, (H - ch) / 2)}px`;
    return;
  }
  const r = target.getBoundingClientRect();
  const m = 6;
  spot.style.cssText = `left:${r.left - m}px;top:${r.top - m}px;width:${r.width + 2 * m}px;height:${r.height + 2 * m}px`;
  if (W < NARROW) {           // a phone: the card is a sheet along the bottom, the target above it
    card.style.left = "8px";
    card.style.top = `${Math.max(8, H - ch - 8)}px`;
    return;
  }
  const gap = 16;
  let left, top;
  if (r.right + gap + cw < W) { left = r.right + gap; top = r.top; }
  else if (r.left - gap - cw > 0) { left = r.left - gap - cw; top = r.top; }
  else if (r.bottom + gap + ch < H) { left = r.left; top = r.bottom + gap; }
  else { left = W - cw - 16; top = Math.max(70, r.top + 16); }
  card.style.left = `${Math.max(8, Math.min(W - cw - 8, left))}px`;
  card.style.top = `${Math.max(64, Math.min(H - ch - 8, top))}px`;
}
