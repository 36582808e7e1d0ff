// The page's model-running code, all of it in this one file: load the model, turn a picture into the
// model's input (the core's own preprocessing, the steps `digitkit predict` runs), classify, explain,
// and run the parity fixtures. One inference module runs it all, both shipped as `digitkit verify`
// tests them: where the browser has WebAssembly SIMD, digitkit-core-wasm.js (the core's API on a wasm
// SIMD kernel, the core bundled in); elsewhere the portable core, digitkit-core.js. A browser
// downloads only the one it runs. digitkit-explain.js explains, on the core's float64 model.
import { hiddenActivations, integratedGradients, saliency } from './digitkit-explain.js';

/** A module whose one function returns a v128 constant: valid only where wasm SIMD is (as core-wasm probes). */
const SIMD_PROBE = [0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12];
const simd = (() => {
  try {
    return WebAssembly.validate(Uint8Array.from([...SIMD_PROBE, ...new Array(16).fill(0), 11]));
  } catch {
    return false; // no WebAssembly at all
  }
})();

const core = await import(simd ? './digitkit-core-wasm.js' : './digitkit-core.js');

/** The model, loaded by the module the page runs. */
export function load(text, name) {
  return core.loadModel(text, name);
}

/** What runs the model: "wasm" (core-wasm's kernel) or "core". */
export function engineOf(model) {
  return model.engine ?? 'core';
}

/**
 * RGBA bytes (a canvas's ImageData) of a `w` x `h` picture -> the model's pixels, the way the model
 * says (`input.preprocess`; for a digit model the steps `predict` runs), and the picture's gray.
 */
export function inputFromRgba(model, rgba, w, h) {
  const gray = core.toGray(rgba),
    { preprocess, channels, width, height } = model.input;
  // A gray digit model's input is preprocess(gray), exactly what prepareImage computes: reusing the gray
  // saves a second toGray, about half of an update's time while drawing.
  if (preprocess === 'digit' && channels === 1)
    return { gray, ...core.preprocess(gray, w, h, undefined, width, height) };
  return { gray, ...core.prepareImage(model, rgba, w, h) };
}

/** Probabilities for the model's input (an image model's pixels, a vector model's feature values): { index, label, probability, probs }. */
export function classify(model, input) {
  return model.input.kind === 'vector' ? core.classifyValues(model, input) : core.classifyPixels(model, input);
}

/** A vector model's input to the network: x = (v - offset) * scale. */
const valuesToInput = (model, v) => Float64Array.from(v, (x, i) => (x - model.input.offset[i]) * model.input.scale[i]);

/**
 * Why the model sees what it sees: the attribution map for class `k` (`ig`: each pixel's exact
 * share of logit(x) - logit(blank); `saliency`: d logit / d pixel) and each hidden layer's activations.
 * Explain reads the float64 weights: core-wasm hands over the core's model for the same file.
 */
export function explain(model, input, k, method) {
  const net = core.coreModel ? core.coreModel(model) : model;
  const x = net.input.kind === 'vector' ? valuesToInput(net, input) : core.pixelsToInput(net, input);
  return {
    attribution: (method === 'saliency' ? saliency : integratedGradients)(net, x, k),
    hidden: hiddenActivations(net, x),
  };
}

/**
 * The parity fixtures through the same module, in this browser: each case's probabilities against the
 * float64 reference's. Returns the worst |Δp| (where), and how many cases are within the tolerance.
 */
export function runFixtures(model, fixtures) {
  const t0 = performance.now();
  let maxDiff = 0,
    worst = null,
    passed = 0;
  for (const c of fixtures.cases) {
    // An image case holds the model's pixels; a vector case its raw feature values (float64, little-endian).
    const bytes = core.decodeBase64(c.values ?? c.pixels ?? '');
    if (!bytes) throw new Error(`case ${c.id}: ${c.values ? 'values' : 'pixels'} are not valid base64`);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const got = c.values
      ? core.forwardValues(
          model,
          Float64Array.from({ length: bytes.length / 8 }, (_, i) => dv.getFloat64(8 * i, true)),
        )
      : core.forwardPixels(model, bytes);
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
