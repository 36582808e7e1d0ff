// Test inputs around verify: fixtures for any model over raw inputs (pixels or feature values, the
// probabilities from the float64 reference), copies of the shipped core with an edit applied, and a
// real small tabular dataset.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { parseRawModel } from '../../src/core/index.js';
import { encodeValues, type Fixtures } from '../../src/verify/fixtures-file.js';
import { referenceProbs } from '../../src/verify/reference.js';
import { ROOT } from './cli.js';

/** Fixtures for a model file over raw inputs (pixels, or `vector`: feature values), probabilities from the float64 reference. */
export function fixturesFor(
  modelFile: string,
  inputs: ArrayLike<number>[],
  labels: number[],
  vector: boolean,
): Fixtures {
  const text = fs.readFileSync(modelFile, 'utf8');
  const raw = parseRawModel(text);
  return {
    format: 'digitkit-fixtures',
    version: 2,
    model: { path: modelFile, sha256: createHash('sha256').update(text).digest('hex') },
    tolerance: 1e-6,
    reference: 'float64',
    cases: inputs.map((v, k) => ({
      id: `case-${k}`,
      label: labels[k],
      ...(vector ? { values: encodeValues(v) } : { pixels: Buffer.from(Uint8Array.from(v)).toString('base64') }),
      probs: referenceProbs(raw, v),
    })),
  };
}

/** A copy of the shipped core (dist/core/index.js) in `dir` with `edit` applied to its source. */
export function coreVariant(dir: string, name: string, edit: (js: string) => string): string {
  const js = fs.readFileSync(path.join(ROOT, 'dist/core/index.js'), 'utf8');
  const out = edit(js);
  expect(out).not.toBe(js);
  const file = path.join(dir, name);
  fs.writeFileSync(file, out);
  return file;
}

/** The breast cancer measurements scikit-learn ships (Debian python3-sklearn): 569 rows, 30 features, 2 classes. */
export function breastCancer(): { x: number[][]; y: number[] } {
  const file = '/usr/lib/python3/dist-packages/sklearn/datasets/data/breast_cancer.csv';
  const rows = fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',').map(Number));
  return { x: rows.map((r) => r.slice(0, 30)), y: rows.map((r) => r[30]) };
}
