// The Model & data tab: the summary with the parameter arithmetic (/api/model), the dataset's
// counts and samples (/api/data), and the test-set evaluation (/api/evaluation); a click on a
// cell of the confusion matrix shows its images (/api/evaluation/cell).

import { get } from "./api.js";
import { drawGray, fixed, percent } from "./colors.js";
import { el, emit, on, plural, state, toast } from "./state.js";

let loadedFor = -1;
let dataLoaded = false;
let dataShown = null;          // resolves when the samples are on the page (the tour waits for it)
let shownData = () => {};

// A promise that resolves once the dataset's samples are shown (at once if they already are).
export function whenDataShown() {
  if (!dataShown) dataShown = new Promise((resolve) => { shownData = resolve; });
  if (dataLoaded) shownData();
  return dataShown;
}

export function setup() {
  on("tab", (name) => { if (name === "model") load(); });
  on("model", () => { if (state.tab === "model") load(); });
}

async function load() {
  if (!dataLoaded) loadData();
  if (!state.model || loadedFor === state.version) return;
  loadedFor = state.version;
  try {
    showSummary(await get("/api/model"));
  } catch (error) {
    toast(error.message, "error");
  }
  const top = document.getElementById("eval-top");
  top.replaceChildren(el("div", { class: "pending", text: "scoring the 10,000 test images\u2026" }));
  try {
    showEvaluation(await get("/api/evaluation"));
  } catch (error) {
    top.replaceChildren(el("div", { class: "pending", text: error.message }));
  }
}

function showSummary(r) {
  const p = r.parameters;
  const diagram = document.getElementById("arch-diagram");
  const boxes = [el("div", { class: "arch-box" }, el("b", { text: `${r.info.input_shape.join("\u00d7")} image` }), el("span", { text: "input" }))];
  for (const layer of r.info.layers) {
    boxes.push(el("span", { class: "arch-arrow", text: "\u2192" }));
    boxes.push(el("div", { class: "arch-box", title: layer.what },
      el("b", { text: layer.label }), el("span", { text: `${layer.name} \u2192 ${layer.output_shape.join("\u00d7")}` })));
  }
  diagram.replaceChildren(...boxes);
  const table = document.getElementById("params-table");
  table.replaceChildren(
    el("tr", {}, ...["layer", "output shape", "where the parameters come from", "parameters"].map((h) => el("th", { text: h }))),
    ...p.layers.map((row) => el("tr", {},
      el("td", {}, el("b", { text: row.name }), el("div", { class: "muted small", text: row.type })),
      el("td", { class: "mono", text: row.output_shape }),
      el("td", { text: row.text }),
      el("td", { class: "n", text: row.params.toLocaleString() }))),
    el("tr", { class: "total" }, el("td", { text: "total" }), el("td"),
      el("td", { text: `${p.sum_text} parameters, ${p.size} as float32` }),
      el("td", { class: "n", text: p.total.toLocaleString() })));
  document.getElementById("summary-text").textContent = r.summary;
}

async function loadData() {
  const description = document.getElementById("data-description");
  try {
    const d = await get("/api/data");
    const total = (xs) => xs.reduce((a, b) => a + b, 0);
    description.textContent = `${d.description}: ${total(d.train_counts).toLocaleString()} training and ` +
      `${total(d.test_counts).toLocaleString()} test images of ${d.image_shape.join("\u00d7")} pixels (0 = background, 255 = ink). ` +
      "Click a digit to load it into Draw.";
    const rows = [];
    d.samples.forEach((samples, k) => {
      rows.push(el("div", { class: "cls", title: `${d.train_counts[k].toLocaleString()} training, ${d.test_counts[k].toLocaleString()} test images` },
        el("b", { text: d.class_names[k] }), `${d.train_counts[k].toLocaleString()}`));
      rows.push(el("div", { class: "imgs" }, ...samples.map((s) => digitButton(s.image, `test image #${s.index}, a ${d.class_names[k]}`,
        () => emit("load-digit", { pixels: s.image, source: `MNIST test image #${s.index} (a ${d.class_names[k]})`, label: k })))));
    });
    document.getElementById("samples").replaceChildren(
      el("div", { class: "cls", text: "class, images" }), el("div", { class: "muted small", text: "a few of the test set's digits" }), ...rows);
    state.testCount = total(d.test_counts);
    dataLoaded = true;
    whenDataShown();
  } catch (error) {
    description.textContent = error.message;
    whenDataShown();
    shownData();          // nothing more will come: let the tour go on
  }
}

function digitButton(image, label, onclick) {
  const canvas = el("canvas", { width: 28, height: 28 });
  drawGray(canvas, image);
  return el("button", { class: "digit-btn", title: label, "aria-label": label, onclick }, canvas);
}

function showEvaluation(r) {
  document.getElementById("cell-images").hidden = true;
  const stat = (value, caption) => el("div", { class: "stat" }, el("b", { text: value }), el("span", { text: caption }));
  const worst = r.per_class_accuracy.map((a, k) => [a, k]).filter(([a]) => a !== null).sort((x, y) => x[0] - y[0])[0];
  document.getElementById("eval-top").replaceChildren(
    stat(percent(r.accuracy, 2), `accuracy on ${r.count.toLocaleString()} test images`),
    stat(fixed(r.loss, 4), "test loss"),
    stat(worst ? `${r.class_names[worst[1]]}: ${percent(worst[0], 1)}` : "\u2013", "hardest digit"),
    r.top_confusions.length ? stat(`${r.class_names[r.top_confusions[0].label]} \u2192 ${r.class_names[r.top_confusions[0].predicted]}`,
      `most common mistake (${r.top_confusions[0].count}\u00d7)`) : null);

  const n = r.confusion.length;
  let offMax = 1, diagMax = 1;
  r.confusion.forEach((row, i) => row.forEach((v, j) => { if (i === j) diagMax = Math.max(diagMax, v); else offMax = Math.max(offMax, v); }));
  const table = document.getElementById("confusion");
  const header = el("tr", {}, el("th", { class: "axis", scope: "col", text: "true \u2193 read as \u2192" }),
    ...r.class_names.map((c) => el("th", { scope: "col", text: c })), el("th", { scope: "col", text: "right" }));
  const rows = r.confusion.map((row, i) => el("tr", {}, el("th", { scope: "row", text: r.class_names[i] }),
    ...row.map((v, j) => {
      // light shades under dark numbers, so every count stays readable (indigo: right, red: mistakes)
      const t = i === j ? v / diagMax : Math.sqrt(v / offMax);
      const bg = i === j ? `rgba(55, 48, 163, ${(0.08 + 0.37 * t).toFixed(3)})` : v ? `rgba(220, 38, 38, ${(0.06 + 0.4 * t).toFixed(3)})` : "#f7f8fb";
      const what = `${v} image${v === 1 ? "" : "s"} of ${r.class_names[i]} read as ${r.class_names[j]}`;
      return el("td", { style: `background:${bg}` }, el("button", { type: "button", class: "cell", "data-testid": `cell-${i}-${j}`,
        title: what, "aria-label": what, text: v ? String(v) : "", onclick: () => showCell(i, j, r.class_names) }));
    }),
    el("td", { class: "muted", text: r.per_class_accuracy[i] === null ? "\u2013" : percent(r.per_class_accuracy[i], 1) })));
  table.replaceChildren(header, ...rows);

  document.getElementById("mistakes").replaceChildren(...r.confident_mistakes.map((m) => {
    const canvas = el("canvas", { width: 28, height: 28 });
    drawGray(canvas, m.image);
    return el("button", { class: "mistake", "data-testid": `mistake-${m.index}`,
      title: `test image #${m.index}: a ${r.class_names[m.label]}, read as ${r.class_names[m.predicted]} with ${percent(m.confidence)}`,
      onclick: () => {
        emit("load-digit", { pixels: m.image, source: `MNIST test image #${m.index} (labelled ${r.class_names[m.label]})`, label: m.label });
        emit("show-tab", "draw");
      } },
      canvas, el("span", {}, `${r.class_names[m.label]} read as `, el("b", { text: r.class_names[m.predicted] })),
      el("span", { text: percent(m.confidence) }));
  }));
}

// The images behind one cell: true class i read as j. Each loads into Draw.
async function showCell(i, j, names) {
  const box = document.getElementById("cell-images");
  box.hidden = false;
  box.replaceChildren(el("div", { class: "pending", text: `finding the ${names[i]}s read as ${names[j]}\u2026` }));
  document.querySelectorAll("#confusion button.cell").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.testid === `cell-${i}-${j}`)));
  let r;
  try {
    r = await get(`/api/evaluation/cell?label=${i}&predicted=${j}`);
  } catch (error) {
    box.replaceChildren(el("div", { class: "pending", text: error.message }));
    return;
  }
  const right = i === j;
  const heading = r.total === 0 ? `No ${names[i]} was read as ${names[j]}.`
    : `${plural(r.total, "test image")} of ${names[i]} read as ${names[j]}` +
      (r.shown.length < r.total ? `: the ${r.shown.length} ${right ? "it was least sure of" : "it was surest of"}` :
        right ? ", least sure first" : ", surest first");
  box.replaceChildren(el("h3", { text: heading }),
    el("div", { class: "mistakes" }, ...r.shown.map((m) => {
      const canvas = el("canvas", { width: 28, height: 28 });
      drawGray(canvas, m.image);
      return el("button", { class: "mistake", type: "button", "data-testid": `cell-image-${m.index}`,
        onclick: () => {
          emit("load-digit", { pixels: m.image, source: `MNIST test image #${m.index} (labelled ${names[i]})`, label: i });
          emit("show-tab", "draw");
        } },
        canvas, el("span", {}, el("span", { class: "visually-hidden", text: "test image " }), `#${m.index}`),
        el("span", {}, el("span", { class: "visually-hidden", text: `, a ${names[i]} read as ${names[j]} with ` }), percent(m.confidence),
          el("span", { class: "visually-hidden", text: "; load it into Draw" })));
    })));
}
