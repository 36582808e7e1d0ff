/**
 * V8's optimizing compiler (TurboFan) for a short run. One image's loops (laying the weights out,
 * decoding, preprocessing) each run once: TurboFan, compiling them on the side while they run, cost
 * predict's cold start more than it saved (measured: README, "Performance"). So `digitkit predict`
 * starts on V8's baseline tiers alone and turns TurboFan back on as soon as it has a second input
 * to classify, where the optimized code pays (a directory runs several times faster with it).
 */
import v8 from 'node:v8';

let limited = false;

/** Baseline tiers only (interpreter and Sparkplug), until `fullOptimization()`. */
export function baselineOnly(): void {
  v8.setFlagsFromString('--max-opt=1');
  limited = true;
}

/** Every tier again (V8's default), for a run with more work to come. */
export function fullOptimization(): void {
  if (!limited) return;
  v8.setFlagsFromString('--max-opt=999');
  limited = false;
}
