/**
 * What `compress` tries for a byte budget: the given model's own precision assignments (post-training,
 * then quantization-aware), and distilled students of a few widths, each sized to the largest first
 * layer whose quantized file fits. Sizes are estimated conservatively (every bias and scale at its
 * longest float32 decimal, room kept for the meta); the exact size of each trained candidate is
 * measured on its file before it counts.
 */
import { formatModel, type LayerToWrite } from '../node/model-file.js';
import type { LayerPrecision } from '../quant/quantize.js';
import { DISTILL_DEFAULTS, QAT_DEFAULTS } from '../train/config.js';

/**
 * The training recipe of a candidate, chosen by measurement on the validation split (README,
 * `npm run bench -- compress`): students are distilled from the given model for STUDENT_EPOCHS with the
 * default augmentation and schedule, then fine-tuned quantization-aware for QAT_EPOCHS at QAT_LR with
 * frozen scales, still distilling.
 */
export const RECIPE = {
  studentEpochs: 150,
  qatEpochs: 40,
  qatLr: 0.0005,
  temperature: DISTILL_DEFAULTS.temperature,
  alpha: DISTILL_DEFAULTS.alpha,
  qatScales: QAT_DEFAULTS.scales,
};

/** Bytes kept for a compressed model's meta (the facts that always go in; more is added while it fits). */
export const META_RESERVE = 500;
/** The narrowest student compress trains, and the smallest model it can therefore make. */
export const MIN_WIDTH = 16;
/** Second-layer widths of the student families (a student's second layer is never wider than its first). */
export const SECOND_WIDTHS = [64, 32, 16];
/** Students per budget: the first families (in SECOND_WIDTHS order) that fit. */
export const STUDENTS = 2;

/** "64k" for 64000, "40k", "150k"; "12345b" when not a whole number of thousands. */
export function budgetTag(bytes: number): string {
  return bytes % 1000 === 0 ? `${bytes / 1000}k` : `${bytes}b`;
}

/** The smallest assignment a layer gets when sizing: int4, one scale per column for the first layer. */
export function compactPrecision(layers: number): LayerPrecision[] {
  return Array.from({ length: layers }, (_, k) => ({ bits: 4 as const, perChannel: k === 0 }));
}

/**
 * A conservative size for a model of these layer sizes at these precisions: zero weights (their base64
 * length does not depend on the values), every bias and scale at a typical long float32 decimal (10 characters), no meta.
 */
export function estimateBytes(sizes: readonly number[], precision: readonly LayerPrecision[]): number {
  const LONG = -0.1234567;
  const layers: LayerToWrite[] = sizes.slice(1).map((cols, k) => {
    const rows = sizes[k];
    const p = precision[k];
    const b = new Float32Array(cols).fill(LONG);
    if (p.bits === 32) return { rows, cols, dtype: 'float32', w: new Float32Array(rows * cols), b };
    return {
      rows,
      cols,
      dtype: p.bits === 4 ? 'int4' : 'int8',
      w: new Int8Array(rows * cols),
      scale: p.perChannel ? Array(cols).fill(0.01234567) : 0.01234567,
      b,
    };
  });
  return Buffer.byteLength(formatModel({ layers, meta: {} }));
}

export interface StudentPlan {
  /** Layer sizes, input to classes. */
  sizes: number[];
  /** Its estimated size at the compact assignment, meta reserve included. */
  bytes: number;
}

/**
 * Students for a budget: for each second-layer width (widest first), the widest even first layer (below
 * the given model's own, which is a candidate itself) whose compact assignment fits; the first STUDENTS.
 */
export function planStudents(budget: number, input: number, classes: number, maxFirst: number): StudentPlan[] {
  const plans: StudentPlan[] = [];
  for (const h2 of SECOND_WIDTHS) {
    let best: StudentPlan | null = null;
    for (let h1 = Math.max(MIN_WIDTH, h2); h1 < maxFirst; h1 += 2) {
      const sizes = [input, h1, h2, classes];
      const bytes = estimateBytes(sizes, compactPrecision(3)) + META_RESERVE;
      if (bytes > budget) break;
      best = { sizes, bytes };
    }
    if (best) plans.push(best);
  }
  return plans.slice(0, STUDENTS);
}

/** The smallest model compress can make: the narrowest student at the compact assignment. */
export function smallestPossible(input: number, classes: number): number {
  return estimateBytes([input, MIN_WIDTH, MIN_WIDTH, classes], compactPrecision(3)) + META_RESERVE;
}
