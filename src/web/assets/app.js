// digitkit web: draw on the pad; the drawing goes through the core's own preprocessing (toGray, then
// preprocess: the steps `digitkit predict` runs on an image file) and forward pass as you draw.
// `window.digitkit` exposes the 28x28 input and the prediction (tests read them).
import { classifyPixels, loadModel, preprocess, toGray } from './digitkit-core.js';

const $ = (id) => document.getElementById(id);
const pad = $('pad');
const ink = pad.getContext('2d', { willReadFrequently: true });
const thumb = $('input').getContext('2d');
const state = (window.digitkit = {
  ready: false,
  found: false,
  pixels: null,
  prediction: null,
  updates: 0,
  error: null,
});
let model = null;
let last = null; // the pointer's previous point while drawing
let queued = false;

// Dark ink on white, like a digit drawn on paper or exported from a canvas; the pen is ~1/14 of the
// pad, about MNIST's stroke width once preprocess scales the digit to 20 pixels.
function clear() {
  ink.fillStyle = '#fff';
  ink.fillRect(0, 0, pad.width, pad.height);
  update();
}

function stroke(a, b) {
  ink.strokeStyle = ink.fillStyle = '#000';
  ink.lineWidth = pad.width * 0.07;
  ink.lineCap = ink.lineJoin = 'round';
  ink.beginPath();
  if (a === b)
    (ink.arc(a[0], a[1], ink.lineWidth / 2, 0, 2 * Math.PI), ink.fill()); // a tap: a dot
  else (ink.moveTo(a[0], a[1]), ink.lineTo(b[0], b[1]), ink.stroke());
}

// Pointer position in canvas pixels (the pad is scaled by CSS).
function point(e) {
  const r = pad.getBoundingClientRect();
  return [((e.clientX - r.left) * pad.width) / r.width, ((e.clientY - r.top) * pad.height) / r.height];
}

pad.addEventListener('pointerdown', (e) => {
  if (!model) return;
  pad.setPointerCapture(e.pointerId);
  last = point(e);
  stroke(last, last);
  schedule();
});
pad.addEventListener('pointermove', (e) => {
  if (!last) return;
  const all = e.getCoalescedEvents?.() ?? []; // every sample since the last event: smoother fast strokes
  for (const ev of all.length ? all : [e]) {
    const p = point(ev);
    stroke(last, p);
    last = p;
  }
  schedule();
});
const end = () => {
  if (!last) return;
  last = null;
  update(); // the final result, at once (not a frame later)
};
pad.addEventListener('pointerup', end);
pad.addEventListener('pointercancel', end);
$('clear').addEventListener('click', clear);

// At most one classification per frame while drawing.
function schedule() {
  if (queued) return;
  queued = true;
  requestAnimationFrame(() => {
    queued = false;
    if (last) update();
  });
}

function update() {
  if (!model) return;
  const pre = preprocess(toGray(ink.getImageData(0, 0, pad.width, pad.height).data), pad.width, pad.height);
  const c = pre.found ? classifyPixels(model, pre.pixels) : null;
  state.found = pre.found;
  state.pixels = Array.from(pre.pixels);
  state.prediction = c && { label: c.label, index: c.index, probability: c.probability, probs: Array.from(c.probs) };
  state.updates++;
  show(pre.pixels, c);
}

function show(pixels, c) {
  $('digit').textContent = c ? c.label : '–';
  $('confidence').textContent = c ? `${(c.probability * 100).toFixed(1)}%` : 'draw a digit';
  $('bars')
    .querySelectorAll('li')
    .forEach((li, j) => {
      const p = c ? c.probs[j] : 0;
      li.classList.toggle('top', Boolean(c) && j === c.index);
      li.querySelector('i').style.width = `${(p * 100).toFixed(1)}%`;
      li.querySelector('.pct').textContent = c ? `${(p * 100).toFixed(1)}%` : '';
    });
  // The input as the model sees it: ink 255 (white) on 0 (black), as `predict --save-preprocessed` writes it.
  const img = thumb.createImageData(28, 28);
  pixels.forEach((v, i) => img.data.set([v, v, v, 255], 4 * i));
  thumb.putImageData(img, 0, 0);
}

try {
  const res = await fetch('model.json');
  if (!res.ok) throw new Error(`model.json: HTTP ${res.status}`);
  model = loadModel(await res.text(), 'model.json');
  for (const label of model.labels) {
    const li = document.createElement('li');
    li.innerHTML = '<span></span><span class="bar"><i></i></span><span class="pct"></span>';
    li.firstChild.textContent = label;
    $('bars').append(li);
  }
  const acc = model.meta?.testAccuracy;
  $('status').textContent =
    `${model.dtype} model, ${model.layers
      .map((l) => l.rows)
      .concat(model.labels.length)
      .join('→')}` + (typeof acc == 'number' ? `, ${(acc * 100).toFixed(2)}% on MNIST's test set` : '');
  clear();
  state.ready = true;
} catch (err) {
  state.error = err.message;
  $('status').textContent = `Could not load the model: ${err.message}`;
  $('status').className = 'error';
}
