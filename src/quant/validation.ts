/**
 * The validation split: the training images `digitkit train` held out (the last `val` of its first
 * `limit`, as recorded in the model's meta.config), where quantization and compression make their
 * choices. Never the test set: that is measured once, for what was chosen.
 */
import type { MnistSplit } from '../data/load.js';
import { DEFAULTS } from '../train/config.js';

export interface ValidationSplit {
  split: MnistSplit;
  /** Index of its first image in the training file. */
  from: number;
  /** Why the split is not the one the model's meta names, when it is not. */
  note?: string;
}

/** Images [from, from + count) of a split, as views. */
export function sliceSplit(s: MnistSplit, from: number, count: number): MnistSplit {
  const size = s.rows * s.cols;
  return {
    images: s.images.subarray(from * size, (from + count) * size),
    labels: s.labels.subarray(from, from + count),
    count,
    rows: s.rows,
    cols: s.cols,
  };
}

/** The held-out images of the model whose meta is `meta`, from the training split `train`. */
export function validationSplit(meta: unknown, train: MnistSplit): ValidationSplit {
  const config = (meta as { config?: { limit?: unknown; val?: unknown } } | null)?.config;
  const limit = config?.limit;
  const val = config?.val;
  if (Number.isInteger(limit) && Number.isInteger(val) && (val as number) > 0) {
    const l = limit as number;
    const v = val as number;
    if (v < l && l <= train.count) return { split: sliceSplit(train, l - v, v), from: l - v };
  }
  const count = Math.min(DEFAULTS.val, train.count);
  const from = train.count - count;
  const note =
    val === 0
      ? `the model was trained without a validation split (--val 0): the last ${count} training images stand in`
      : `the model's meta names no held-out split: using the last ${count} training images, as train holds out`;
  return { split: sliceSplit(train, from, count), from, note };
}
