// The page's start: tabs, the model badge, loading a .keras file, and wiring the views together.

import { get, upload } from "./api.js";
import { loadColors } from "./colors.js";
import { emit, on, state, toast } from "./state.js";
import * as draw from "./draw.js";
import * as network from "./network.js";
import * as featureMaps from "./featuremaps.js";
import * as inspect from "./inspect.js";
import * as backprop from "./backprop.js";
import * as train from "./train.js";
import * as modelTab from "./modeltab.js";
import * as timeline from "./timeline.js";
import * as compare from "./compare.js";
import * as map from "./map.js";
import * as tour from "./tour.js";

const tabs = [...document.querySelectorAll('[role="tab"]')];

export function showTab(name) {
  for (const tab of tabs) {
    const selected = tab.dataset.tab === name;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    document.getElementById(tab.getAttribute("aria-controls")).hidden = !selected;
  }
  state.tab = name;
  emit("tab", name);
}

function setupTabs() {
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => showTab(tab.dataset.tab));
    tab.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step) return;
      const next = tabs[(i + step + tabs.length) % tabs.length];
      showTab(next.dataset.tab);
      next.focus();
    });
  });
}

// Ask the server which model every tab is looking at; tell the views if it changed.
export async function refreshStatus() {
  const status = await get("/api/status");
  const changed = status.version !== state.version;
  state.model = status.model;
  state.version = status.version;
  state.training = status.training;
  state.compare = status.compare;
  renderPill();
  if (changed) emit("model", state.model);
  return status;
}

function renderPill() {
  const pill = document.getElementById("model-pill");
  const name = document.getElementById("model-name");
  const m = state.model;
  pill.classList.toggle("ready", !!m);
  pill.classList.toggle("busy", !!(state.training && ["queued", "starting", "running", "paused", "stopping"].includes(state.training.state)));
  const origin = document.getElementById("model-origin");
  if (!m) {
    name.textContent = "no model yet";
    origin.textContent = "train one or load a .keras file";
  } else {
    // a network of Dense layers by its sizes; any other by its layers' own labels (Conv2D 32 3x3 relu, MaxPool 2x2, ...)
    const dense = m.layers.every((l) => l.fully_connected || l.count === 0 && !l.maps);
    const last = m.layers[m.layers.length - 1];
    const arch = dense ? [...m.hidden.map((h) => `${h.units} ${h.activation}`), `${m.outputs} ${last.activation}`].join(" \u2192 ")
      : m.layers.filter((l) => l.maps || l.fully_connected).map((l) => l.label).join(" \u2192 ");
    name.textContent = dense ? `Dense ${arch}` : arch;
    origin.textContent = m.origin;
    pill.title = `${arch}: ${m.params.toLocaleString()} parameters; ${m.origin}`;
  }
  document.getElementById("model-download").toggleAttribute("hidden", !m);
}

function setupModelUpload() {
  const input = document.getElementById("model-file");
  input.addEventListener("change", async () => {
    const file = input.files[0];
    input.value = "";
    if (!file) return;
    toast(`loading ${file.name}\u2026`);
    try {
      const result = await upload("/api/model/upload", file);
      await refreshStatus();
      toast(`${file.name} loaded: ${result.info.params.toLocaleString()} parameters. Every tab now uses it.`);
    } catch (error) {
      toast(error.message.includes(file.name) ? error.message : `${file.name}: ${error.message}`, "error", 8);
    }
  });
}

on("model-changed", () => refreshStatus().catch((e) => toast(e.message, "error")));
on("show-tab", (name) => showTab(name));
on("load-digit", () => showTab("draw"));

async function start() {
  window.digitlensState = state;      // for the browser tests, and for a curious learner's console
  setupTabs();
  setupModelUpload();
  draw.setup();
  network.setup();
  featureMaps.setup();
  inspect.setup();
  backprop.setup();
  train.setup();
  modelTab.setup();
  timeline.setup();
  compare.setup();
  map.setup();
  tour.setup(showTab);
  try {
    await loadColors();
    await refreshStatus();
  } catch (error) {
    toast(error.message, "error", 10);
  }
  // A job still running, or the one whose model every tab uses, is shown; an older one (another
  // model was loaded since, or the run was undone) is history and is not replayed.
  if (state.training && state.training.current) train.resumeWatching();
  document.body.dataset.ready = "true";
}

start();
