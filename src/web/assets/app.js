// digitkit web: draw on the pad (or drop an image file on it); the picture goes through the core's own
// preprocessing (the steps `digitkit predict` runs on an image file) and forward pass as you draw, and
// digitkit/explain shows why: an attribution overlay on the pad and the hidden layers' activations.
// On load the page runs the parity fixtures beside the model through the same module (the self-test).
// The page follows the model: a "digit" model gets the drawing pad; a "resize" model (whole pictures,
// gray or RGB) takes a dropped or opened image; a vector model gets a form with one field per feature.
// All model-running code is in engine.js (core-wasm where the browser has wasm SIMD, else the core).
// `window.digitkit` exposes what the page shows (tests read it).
import * as engine from './engine.js';

const $ = (id) => document.getElementById(id);
const pad = $('pad');
const ink = pad.getContext('2d', { willReadFrequently: true });
const overlay = $('overlay').getContext('2d', { willReadFrequently: true }); // tests read it back
const thumb = $('input').getContext('2d');
const state = (window.digitkit = {
  ready: false,
  found: false,
  pixels: null,
  prediction: null,
  /** What the overlay shows: { class, method, max, attribution } (null when nothing is drawn or it is off). */
  overlay: null,
  /** Each hidden layer's activations, as drawn. */
  hidden: null,
  /** 'pad' (drawn here) or the name of a dropped or opened image file. */
  source: 'pad',
  updates: 0,
  announcements: 0,
  selfTest: { status: 'pending' },
  /** Below this top probability the page says "not sure": the model's meta.minConfidence, else DEFAULT_MIN_CONFIDENCE. */
  minConfidence: null,
  /** Whether the current prediction is below minConfidence. */
  unsure: false,
  /** What runs the model: "wasm" (core-wasm's WebAssembly SIMD kernel) or "core" (the portable core). */
  engine: null,
  error: null,
});
let model = null;
/**
 * The "not sure" threshold for a model whose meta carries no minConfidence: the one `digitkit eval
 * --confidence` chose for the shipped MNIST model on its validation split (the largest threshold
 * refusing at most 1% of the validation digits; MNIST_MIN_CONFIDENCE in src/eval/confidence.ts).
 */
const DEFAULT_MIN_CONFIDENCE = 0.56;
/** 'digit' (draw), 'resize' (drop or open a picture) or 'vector' (fill in the features): from the model's input. */
let mode = 'digit';
let last = null; // the pointer's previous point while drawing
let queued = false;
/** A dropped or opened image: its gray pixels, preprocessed input, and where it sits on the pad; null: the pad's drawing. */
let picture = null;

// Dark ink on white, like a digit drawn on paper or exported from a canvas; the pen is ~1/14 of the
// pad, about MNIST's stroke width once preprocess scales the digit to 20 pixels.
function blank() {
  picture = null;
  state.source = 'pad';
  ink.fillStyle = '#fff';
  ink.fillRect(0, 0, pad.width, pad.height);
  if (mode === 'resize') {
    // A picture model classifies whole pictures: the pad waits for one.
    ink.fillStyle = '#888';
    ink.font = '15px system-ui, sans-serif';
    ink.textAlign = 'center';
    ink.fillText('Drop a picture here,', pad.width / 2, pad.height / 2 - 10);
    ink.fillText('or open one below', pad.width / 2, pad.height / 2 + 12);
  }
}

function clear() {
  blank();
  update();
  announce();
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
  if (!model || mode !== 'digit') return;
  if (picture) blank(); // drawing starts a new digit over a shown image
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
  announce(); // once per stroke, not every frame
};
pad.addEventListener('pointerup', end);
pad.addEventListener('pointercancel', end);
$('clear').addEventListener('click', clear);
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && model) clear();
});
for (const id of ['show-overlay', 'overlay-class', 'overlay-method']) $(id).addEventListener('change', () => update());

// An image file dropped on the pad, or opened with the button: classified like `digitkit predict` would.
pad.addEventListener('dragover', (e) => {
  e.preventDefault();
  pad.classList.add('dropping');
});
pad.addEventListener('dragleave', () => pad.classList.remove('dropping'));
pad.addEventListener('drop', (e) => {
  e.preventDefault();
  pad.classList.remove('dropping');
  const file = e.dataTransfer?.files[0];
  if (file) openImage(file);
});
$('file').addEventListener('change', (e) => {
  const file = e.target.files[0];
  e.target.value = '';
  if (file) openImage(file);
});

/** predict's limit, checked before the pixels are read. */
const MAX_PIXELS = 50_000_000;

async function openImage(file) {
  if (!model) return;
  let bmp;
  try {
    // As decoded, like predict: no colour-space conversion, alpha not premultiplied, EXIF orientation applied.
    bmp = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    return message(`${file.name}: not an image this browser can decode`, true);
  }
  const { width: w, height: h } = bmp;
  if (w * h > MAX_PIXELS) return message(`${file.name}: ${w}x${h} is larger than the ${MAX_PIXELS}-pixel limit`, true);
  const c = document.createElement('canvas');
  c.width = w;
  c.height = h;
  const cx = c.getContext('2d', { willReadFrequently: true });
  cx.drawImage(bmp, 0, 0);
  const input = engine.inputFromRgba(model, cx.getImageData(0, 0, w, h).data, w, h);
  // Shown on the pad, whole, over white (alpha too); the model gets the full-size picture.
  blank();
  const k = Math.min(pad.width / w, pad.height / h);
  const fit = { k, ox: (pad.width - w * k) / 2, oy: (pad.height - h * k) / 2 };
  ink.imageSmoothingQuality = 'high';
  ink.drawImage(bmp, fit.ox, fit.oy, w * k, h * k);
  picture = { ...input, width: w, height: h, fit };
  state.source = file.name;
  message(`${file.name} (${w}×${h}): ${input.found ? 'classified as predict would' : 'no digit found in it'}`);
  update();
  announce();
}

// At most one update per frame while drawing.
function schedule() {
  if (queued) return;
  queued = true;
  requestAnimationFrame(() => {
    queued = false;
    if (last) update();
  });
}

/** The feature values in the form (a vector model). */
const formValues = () => Array.from($('features').querySelectorAll('input'), (el) => Number(el.value));

/** The picture the model is looking at now: the dropped image, or the pad's drawing (a vector model: the form's values). */
function current() {
  if (mode === 'vector') {
    const v = formValues();
    return { pixels: v, found: v.every(Number.isFinite) };
  }
  if (picture) return picture;
  // A picture model has nothing to look at until a picture is dropped or opened.
  if (mode === 'resize') return { pixels: new Uint8ClampedArray(model.input.size), found: false };
  const { width: w, height: h } = pad;
  return {
    ...engine.inputFromRgba(model, ink.getImageData(0, 0, w, h).data, w, h),
    width: w,
    height: h,
    fit: { k: 1, ox: 0, oy: 0 },
  };
}

function update() {
  if (!model) return;
  const src = current();
  const c = src.found ? engine.classify(model, src.pixels) : null;
  const chosen = $('overlay-class').value;
  const k = c ? (chosen === 'top' ? c.index : Number(chosen)) : null;
  const method = $('overlay-method').value;
  const ex = c ? engine.explain(model, src.pixels, k, method) : null;
  state.found = src.found;
  state.pixels = Array.from(src.pixels);
  state.prediction = c && { label: c.label, index: c.index, probability: c.probability, probs: Array.from(c.probs) };
  state.unsure = Boolean(c) && c.probability < state.minConfidence;
  state.hidden = ex && ex.hidden.map((h) => Array.from(h));
  state.overlay = null;
  overlay.clearRect(0, 0, pad.width, pad.height);
  if (ex && mode !== 'vector' && $('show-overlay').checked)
    state.overlay = {
      class: k,
      method,
      max: drawOverlay(src, ex.attribution),
      attribution: Array.from(ex.attribution),
    };
  state.updates++;
  show(src.pixels, c, k, ex);
}

/**
 * Where the model's W x H pixels came from on the pad. A "resize" model sees the whole picture, scaled.
 * A digit model: preprocess crops the ink's bounding box (the pixels that differ from the border's
 * median by more than 40, in the polarity it chose), scales it so its longer side is 20/28 of the input
 * and places it in W x H; where it placed it is read off its output.
 */
function frame(src) {
  const { width: W, height: H, channels: C } = model.input;
  const { gray: g, width: w, height: h, pixels, inverted, fit } = src;
  if (mode === 'resize') return { x: (X) => fit.ox + (fit.k * X * w) / W, y: (Y) => fit.oy + (fit.k * Y * h) / H };
  const n = w * h,
    border = [];
  for (let i = 0; i < w; i++) border.push(g[i], g[n - w + i]);
  for (let i = 0; i < n; i += w) border.push(g[i], g[i + w - 1]);
  const bg = Uint8Array.from(border).sort()[border.length >> 1],
    sign = inverted ? -1 : 1;
  let [x0, x1, y0, y1] = [w, -1, h, -1];
  for (let y = 0, i = 0; y < h; y++)
    for (let x = 0; x < w; x++, i++)
      if ((g[i] - bg) * sign > 40) [x0, x1, y0, y1] = [Math.min(x0, x), Math.max(x1, x), Math.min(y0, y), y];
  let [c0, c1, r0, r1] = [W, -1, H, -1];
  for (let i = 0; i < W * H; i++)
    if (pixels[i * C]) {
      const c = i % W,
        r = (i / W) | 0;
      [c0, c1, r0, r1] = [Math.min(c0, c), Math.max(c1, c), Math.min(r0, r), r];
    }
  if (x1 < 0 || c1 < 0) return null;
  const bw = x1 - x0 + 1,
    bh = y1 - y0 + 1,
    s = Math.min((W * 20) / 28 / bw, (H * 20) / 28 / bh),
    ow = Math.round(bw * s) || 1,
    oh = Math.round(bh * s) || 1;
  // The box's first column and row: its visible ink spans [lo, hi] within [d, d + size).
  const place = (lo, hi, size, max) => Math.round((Math.max(0, hi - size + 1) + Math.min(lo, max - size)) / 2);
  const dx = place(c0, c1, ow, W),
    dy = place(r0, r1, oh, H);
  return {
    x: (X) => fit.ox + fit.k * (x0 + ((X - dx) * bw) / ow),
    y: (Y) => fit.oy + fit.k * (y0 + ((Y - dy) * bh) / oh),
  };
}

/** The attribution map over the picture on the pad, red raising the class, blue lowering it; returns its scale. */
function drawOverlay(src, a) {
  const f = frame(src);
  let max = 0;
  for (const v of a) max = Math.max(max, Math.abs(v));
  if (!f || !max) return max;
  const { width: W, channels: C } = model.input;
  for (let i = 0; i < a.length; i++) {
    const t = a[i] / max;
    if (Math.abs(t) < 0.02) continue;
    // The square root lifts the many small values into view (the legend's extremes stay ±max).
    const alpha = Math.sqrt(Math.abs(t)).toFixed(3);
    const X = ((i / C) | 0) % W,
      Y = (i / C / W) | 0,
      x = Math.floor(f.x(X)),
      y = Math.floor(f.y(Y));
    overlay.fillStyle = t > 0 ? `rgba(214,39,40,${alpha})` : `rgba(31,111,216,${alpha})`;
    overlay.fillRect(x, y, Math.ceil(f.x(X + 1)) - x, Math.ceil(f.y(Y + 1)) - y);
  }
  return max;
}

/** A hidden layer as a small grid of cells (a power-of-two number of columns), shaded by activation. */
function drawLayer(canvas, a) {
  const cols = 2 ** Math.ceil(Math.log2(Math.sqrt(a.length))),
    rows = Math.ceil(a.length / cols);
  if (canvas.width !== cols || canvas.height !== rows) {
    Object.assign(canvas, { width: cols, height: rows });
    Object.assign(canvas.style, { width: `${cols * 9}px`, height: `${rows * 9}px` });
  }
  const cx = canvas.getContext('2d'),
    img = cx.createImageData(cols, rows);
  const max = Math.max(...a) || 1;
  a.forEach((v, i) => {
    const t = v / max;
    img.data.set([255 - 244 * t, 255 - 197 * t, 255 - 138 * t, 255], 4 * i);
  });
  cx.putImageData(img, 0, 0);
}

/** What the page asks for when there is nothing to classify yet. */
const prompt = () =>
  mode === 'resize' ? 'Drop a picture on the pad, or open one.' : 'Draw a digit on the pad, or drop an image on it.';

function show(pixels, c, k, ex) {
  $('digit').textContent = c ? c.label : '';
  // Below the threshold the label is only a guess: said in words, and greyed.
  document.querySelector('.guess').classList.toggle('unsure', state.unsure);
  $('confidence').textContent = c
    ? state.unsure
      ? `not sure: best guess ${c.label}, ${(c.probability * 100).toFixed(1)}% (below ${Number((state.minConfidence * 100).toFixed(1))}%)`
      : `${(c.probability * 100).toFixed(1)}%`
    : mode === 'vector'
      ? 'Fill in every feature with a number.'
      : state.source === 'pad'
        ? prompt()
        : `No digit found in ${state.source}.`;
  $('bars')
    .querySelectorAll('li')
    .forEach((li, j) => {
      const p = c ? c.probs[j] : 0;
      li.classList.toggle('top', Boolean(c) && j === c.index);
      li.classList.toggle('explained', Boolean(state.overlay) && j === k);
      li.querySelector('i').style.width = `${(p * 100).toFixed(1)}%`;
      li.querySelector('.pct').textContent = c ? `${(p * 100).toFixed(1)}%` : '';
    });
  // Nothing drawn: say so in words instead of showing empty (black) pictures.
  $('empty').hidden = Boolean(c);
  $('seen').hidden = !c;
  if (!c) return;
  if (mode !== 'vector') {
    // The input as the model sees it (a digit: ink 255, white, on 0, black), as `predict --save-preprocessed` writes it.
    const { width: W, height: H, channels: C } = model.input;
    const img = thumb.createImageData(W, H);
    for (let i = 0; i < W * H; i++)
      img.data.set(
        C === 3 ? [pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2], 255] : [pixels[i], pixels[i], pixels[i], 255],
        4 * i,
      );
    thumb.putImageData(img, 0, 0);
  }
  const box = $('hidden');
  ex.hidden.forEach((a, l) => {
    let fig = box.children[l];
    if (!fig) {
      fig = document.createElement('figure');
      fig.innerHTML = '<canvas></canvas><figcaption></figcaption>';
      box.append(fig);
    }
    drawLayer(fig.firstChild, a);
    const on = a.filter((v) => v > 0).length;
    fig.lastChild.textContent = `hidden layer ${l + 1}: ${on} of ${a.length} units active`;
  });
}

/**
 * Shape the page to the model: a digit model keeps the pad as it is; a picture model waits for a
 * picture; a vector model swaps the pad for a form (each field starts at the training mean, the
 * model's input offset) and the input picture for nothing. The input thumbnail takes the model's size.
 */
function setUp() {
  const input = model.input;
  mode = input.kind === 'vector' ? 'vector' : input.preprocess === 'resize' ? 'resize' : 'digit';
  const h1 = document.querySelector('.draw h1');
  if (mode === 'vector') {
    h1.textContent = 'Classify a row of features';
    document.title = 'digitkit: classify a row of features';
    document.querySelector('.pad').hidden = true;
    document.querySelector('.controls').hidden = true;
    $('overlay-class').closest('.overlay-controls').hidden = true;
    document.querySelector('.legend').hidden = true;
    $('input').closest('figure').hidden = true;
    const form = $('features');
    form.hidden = false;
    input.offset.forEach((mean, i) => {
      const id = `feature-${i}`;
      const label = document.createElement('label');
      label.htmlFor = id;
      label.textContent = input.names?.[i] ?? `feature ${i + 1}`;
      const field = document.createElement('input');
      Object.assign(field, { id, type: 'number', step: 'any', value: String(Number(mean.toPrecision(6))) });
      field.addEventListener('input', () => update());
      field.addEventListener('change', () => announce());
      form.append(label, field);
    });
    $('empty').textContent = 'Fill in every feature: the hidden layers appear here.';
    return;
  }
  const { width: W, height: H } = input;
  Object.assign($('input'), { width: W, height: H });
  $('input').closest('figure').querySelector('figcaption').textContent = `the input (${W}×${H})`;
  $('empty').textContent =
    `Nothing ${mode === 'resize' ? 'to classify' : 'drawn'} yet: the model's ${W}×${H} input and its hidden layers appear here.`;
  if (mode === 'resize') {
    h1.textContent = 'Classify a picture';
    document.title = 'digitkit: classify a picture';
    pad.setAttribute('aria-label', 'Drop zone: drop one image file here, or open one with the button. Escape clears.');
    $('confidence').textContent = prompt();
  }
}

/** Tell screen readers the result once (a stroke ended, an image was opened, the pad was cleared). */
function announce() {
  const p = state.prediction;
  const text = p
    ? state.unsure
      ? `Not sure: best guess ${p.label}, ${(p.probability * 100).toFixed(0)} percent.`
      : `Prediction: ${p.label}, ${(p.probability * 100).toFixed(0)} percent.`
    : mode === 'vector'
      ? 'Some feature is not a number.'
      : state.source === 'pad'
        ? 'The pad is empty.'
        : `No digit found in ${state.source}.`;
  const live = $('announce');
  // The same words twice in a row would not be read again: clear first, set on the next frame.
  live.textContent = '';
  requestAnimationFrame(() => (live.textContent = text));
  state.announcements++;
}

function message(text, error = false) {
  $('status').textContent = text;
  $('status').className = error ? 'error' : '';
}

/** SHA-256 of the bytes, hex, where the browser offers it (secure contexts: https, localhost). */
async function sha256(bytes) {
  if (!globalThis.crypto?.subtle) return null;
  const d = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The fixtures beside the model, through the same core in this browser; the verdict in words. */
async function selfTest(modelBytes) {
  const out = $('selftest');
  const res = await fetch('fixtures.json');
  if (res.status === 404) {
    state.selfTest = { status: 'none' };
    out.textContent =
      'Self-test: no fixtures.json beside the model (write the site with `digitkit web --fixtures FILE`).';
    return;
  }
  if (!res.ok) throw new Error(`fixtures.json: HTTP ${res.status}`);
  const fixtures = await res.json();
  if (fixtures?.format !== 'digitkit-fixtures' || !Array.isArray(fixtures.cases) || !fixtures.cases.length)
    throw new Error('fixtures.json is not a digitkit-fixtures file with cases');
  const r = engine.runFixtures(model, fixtures);
  const hash = await sha256(modelBytes);
  const sameModel = hash === null ? null : hash === fixtures.model?.sha256;
  const ok = r.passed === r.cases && sameModel !== false;
  const diff = `max |Δp| ${r.maxDiff.toExponential(2)}`,
    tol = r.tolerance.toExponential(0);
  const where = r.worst ? ` (case ${r.worst.id}, class ${model.labels[r.worst.class]})` : '';
  state.selfTest = { status: ok ? 'ok' : 'failed', ...r, sha256: hash, sameModel };
  out.className = ok ? 'ok' : 'failed';
  out.textContent = ok
    ? `Parity verified in this browser: ${diff}, ${r.passed}/${r.cases} cases within ${tol} (${r.ms.toFixed(0)} ms)` +
      (sameModel === null ? '; model hash not checked (no SHA-256 in a page not served over https or localhost)' : '')
    : `Parity FAILED in this browser: ${diff}${where}, ${r.passed}/${r.cases} cases within ${tol}` +
      (sameModel === false
        ? `; model.json is not the model the fixtures were made for (sha256 ${hash.slice(0, 12)}…, expected ${String(fixtures.model?.sha256).slice(0, 12)}…)`
        : '');
}

try {
  const res = await fetch('model.json');
  if (!res.ok) throw new Error(`model.json: HTTP ${res.status}`);
  const bytes = await res.arrayBuffer();
  model = engine.load(new TextDecoder().decode(bytes), 'model.json');
  state.engine = engine.engineOf(model);
  const own = model.meta?.minConfidence;
  state.minConfidence = typeof own == 'number' && own > 0 && own <= 1 ? own : DEFAULT_MIN_CONFIDENCE;
  for (const [j, label] of model.labels.entries()) {
    const li = document.createElement('li');
    li.innerHTML = '<span></span><span class="bar"><i></i></span><span class="pct"></span>';
    li.firstChild.textContent = label;
    $('bars').append(li);
    $('overlay-class').append(new Option(`class ${label}`, String(j)));
  }
  setUp();
  const acc = model.meta?.testAccuracy;
  message(
    `${model.dtype} model, ${model.layers
      .map((l) => l.rows)
      .concat(model.labels.length)
      .join('→')}` +
      (typeof acc == 'number' ? `, ${(acc * 100).toFixed(2)}% on its test set` : '') +
      (state.engine === 'wasm' ? ', run by WebAssembly SIMD' : ', run by the portable core'),
  );
  blank();
  update();
  state.ready = true;
  await selfTest(bytes).catch((err) => {
    state.selfTest = { status: 'error', error: err.message };
    $('selftest').className = 'failed';
    $('selftest').textContent = `Self-test could not run: ${err.message}`;
  });
} catch (err) {
  state.error = err.message;
  message(`Could not load the model: ${err.message}`, true);
}
