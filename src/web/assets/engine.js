// The page's model-running code, all of it in this one file: load the model, turn a picture into the
// model's input (the core's own preprocessing, the steps `digitkit predict` runs), classify, explain,
// and run the parity fixtures. Everything goes through the shipped core (digitkit-core.js, the file
// `digitkit verify` tests) and digitkit-explain.js; another engine (e.g. a WebAssembly one) can take
// over here without app.js changing.
import {
  classifyPixels,
  classifyValues,
  decodeBase64,
  forwardPixels,
  forwardValues,
  loadModel,
  pixelsToInput,
  prepareImage,
  toGray,
} from './digitkit-core.js';
import { hiddenActivations, integratedGradients, saliency } from './digitkit-explain.js';

export function load(text, name) {
  return loadModel(text, name);
}

/**
 * RGBA bytes (a canvas's ImageData) of a `w` x `h` picture -> the model's pixels, the way the model
 * says (`input.preprocess`; for a digit model the steps `predict` runs), and the picture's gray.
 */
export function inputFromRgba(model, rgba, w, h) {
  return { gray: toGray(rgba), ...prepareImage(model, rgba, w, h) };
}

/** Probabilities for the model's input (an image model's pixels, a vector model's feature values): { index, label, probability, probs }. */
export function classify(model, input) {
  return model.input.kind === 'vector' ? classifyValues(model, input) : classifyPixels(model, input);
}

/** A vector model's input to the network: x = (v - offset) * scale. */
const valuesToInput = (model, v) => Float64Array.from(v, (x, i) => (x - model.input.offset[i]) * model.input.scale[i]);

/**
 * Why the model sees what it sees: the attribution map for class `k` (`ig`: each pixel's exact
 * share of logit(x) - logit(blank); `saliency`: d logit / d pixel) and each hidden layer's activations.
 */
export function explain(model, input, k, method) {
  const x = model.input.kind === 'vector' ? valuesToInput(model, input) : pixelsToInput(model, input);
  return {
    attribution: (method === 'saliency' ? saliency : integratedGradients)(model, x, k),
    hidden: hiddenActivations(model, x),
  };
}

/**
 * The parity fixtures through the same core, in this browser: each case's probabilities against the
 * float64 reference's. Returns the worst |Δp| (where), and how many cases are within the tolerance.
 */
export function runFixtures(model, fixtures) {
  const t0 = performance.now();
  let maxDiff = 0,
    worst = null,
    passed = 0;
  for (const c of fixtures.cases) {
    // An image case holds the model's pixels; a vector case its raw feature values (float64, little-endian).
    const bytes = decodeBase64(c.values ?? c.pixels ?? '');
    if (!bytes) throw new Error(`case ${c.id}: ${c.values ? 'values' : 'pixels'} are not valid base64`);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const got = c.values
      ? forwardValues(
          model,
          Float64Array.from({ length: bytes.length / 8 }, (_, i) => dv.getFloat64(8 * i, true)),
        )
      : forwardPixels(model, bytes);
    if (got.length !== c.probs.length)
      throw new Error(`case ${c.id}: ${c.probs.length} probabilities for ${got.length} classes`);
    let caseMax = 0;
    c.probs.forEach((p, j) => {
      const d = Math.abs(got[j] - p);
      // NaN counts as a failure, never as a pass.
      if (!(d <= caseMax)) caseMax = Number.isNaN(d) ? Infinity : d;
      if (caseMax > maxDiff) ((maxDiff = caseMax), (worst = { id: c.id, class: j }));
    });
    if (caseMax <= fixtures.tolerance) passed++;
  }
  return {
    cases: fixtures.cases.length,
    passed,
    maxDiff,
    worst,
    tolerance: fixtures.tolerance,
    ms: performance.now() - t0,
  };
}
