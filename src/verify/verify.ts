/**
 * `digitkit verify`: run every fixture case through an inference core module exactly as shipped
 * (dist/core/index.js, loaded by dynamic import) and compare with the expected probabilities.
 *
 * Three separate steps, so another host can swap the middle one (e.g. `verify --browser` runs
 * `runCases` inside Chromium through the same module): `loadVerifyInputs` (read, validate, check the
 * model's sha256), a runner (`runCases`), and `compareProbs` (the verdict).
 */
import path from 'node:path';
import { decodeBase64 } from '../core/index.js';
import { sci } from '../format.js';
import { DigitkitError, ExitCode, invalidInput, OptionError } from '../errors.js';
import { readModelFile, type ModelFile } from '../node/model-file.js';
import { defaultFixtures, defaultModel } from '../node/paths.js';
import {
  CONTRACT_TOLERANCE,
  decodeValues,
  readFixturesFile,
  type FixtureCase,
  type Fixtures,
} from './fixtures-file.js';
import { runCases, type RunCasesArgs } from './runtimes/run-cases.js';

export { runCases, type RunCasesArgs };

/** A fixtures file's cases as runCases takes them. */
export const caseInputs = (cases: readonly FixtureCase[]): Pick<RunCasesArgs, 'inputs' | 'values'> => ({
  inputs: cases.map((c) => (c.values ?? c.pixels)!),
  values: cases.some((c) => c.values !== undefined),
});

export interface CaseDiff {
  id: string;
  class: number;
  diff: number;
  expected: number;
  actual: number;
}

export interface ParityReport {
  ok: boolean;
  tolerance: number;
  cases: number;
  /** Cases whose argmax (by the runtime) equals the label. */
  correct: number;
  /** The largest |Δp| over every case and class, and where it occurred (null: no cases). */
  max: CaseDiff | null;
  /** Cases outside tolerance (worst class of each), worst first. */
  failures: CaseDiff[];
}

const argmax = (p: ArrayLike<number> | undefined) => {
  let best = -1;
  for (let j = 0; j < (p?.length ?? 0); j++) if (best < 0 || p![j] > p![best]) best = j;
  return best;
};

/**
 * The verdict: every case and class within tolerance. A missing, extra or non-numeric probability
 * counts as an infinite difference, so a runtime cannot pass by returning less.
 */
export function compareProbs(
  cases: readonly FixtureCase[],
  actual: readonly ArrayLike<number>[],
  tolerance: number,
): ParityReport {
  const worst = cases.map((c, k) => {
    const got = actual[k] ?? [];
    let w: CaseDiff = { id: c.id, class: 0, diff: -1, expected: NaN, actual: NaN };
    for (let j = 0; j < Math.max(c.probs.length, got.length); j++) {
      const a = got[j];
      const e = c.probs[j];
      const d = typeof a === 'number' && typeof e === 'number' ? Math.abs(a - e) : Infinity;
      const diff = Number.isNaN(d) ? Infinity : d;
      if (diff > w.diff) w = { id: c.id, class: j, diff, expected: e, actual: a };
    }
    return w;
  });
  const failures = worst.filter((w) => !(w.diff <= tolerance)).sort((a, b) => b.diff - a.diff);
  return {
    ok: cases.length > 0 && failures.length === 0,
    tolerance,
    cases: cases.length,
    correct: cases.filter((c, k) => argmax(actual[k]) === c.label).length,
    max: worst.reduce<CaseDiff | null>((m, w) => (!m || w.diff > m.diff ? w : m), null),
    failures,
  };
}

export interface VerifyOptions {
  model?: string;
  fixtures?: string;
  /** Overrides the fixtures' tolerance (the caller's own choice: not bounded by maxTolerance). */
  tolerance?: number;
  /**
   * The loosest tolerance a fixtures file may set for itself (default DEFAULT_MAX_TOLERANCE, the
   * contract's 1e-6): a file asking for more is refused (exit 3), so the file under test cannot
   * switch the gate off.
   */
  maxTolerance?: number;
  /** Path of another build of the core to verify (default: the shipped dist/core/index.js). */
  core?: string;
}

/** The contract's tolerance, and the most a fixtures file may ask for unless --max-tolerance says otherwise. */
export const DEFAULT_MAX_TOLERANCE = CONTRACT_TOLERANCE;

export interface VerifyInputs {
  fixtures: Fixtures;
  fixturesPath: string;
  model: ModelFile;
  /** The tolerance applied. */
  tolerance: number;
  /** Where it came from: the fixtures file (bounded by maxTolerance) or the caller's `tolerance`. */
  toleranceFrom: 'fixtures' | 'option';
  maxTolerance: number;
}

/** The regenerate hint every "fixtures do not fit this model" error ends with. */
const regenerate = (model: string, fixtures: string) =>
  `regenerate the fixtures with \`digitkit fixtures --model ${model} --out ${fixtures}\``;

/**
 * Read the fixtures and the model and check that they belong together: the model's bytes hash to
 * the fixtures' sha256, and every case fits the model's input and classes. Any problem: exit 3.
 */
export async function loadVerifyInputs(opts: VerifyOptions = {}): Promise<VerifyInputs> {
  const maxTolerance = opts.maxTolerance ?? DEFAULT_MAX_TOLERANCE;
  if (!(Number.isFinite(maxTolerance) && maxTolerance >= 0))
    throw new OptionError('maxTolerance', `${maxTolerance}: expected a finite number >= 0`);
  // Not given: the working directory's files, else the ones digitkit ships (an installed package works anywhere).
  const fixturesPath = defaultFixtures(opts.fixtures);
  const modelPath = defaultModel(opts.model);
  const fixtures = await readFixturesFile(fixturesPath);
  const model = await readModelFile(modelPath);
  if (model.sha256 !== fixtures.model.sha256) {
    throw invalidInput(
      `${modelPath}: sha256 ${model.sha256} is not ${fixtures.model.sha256}, the model ${fixturesPath} was made for (${fixtures.model.path}); ` +
        `if this model is the one you mean to ship, ${regenerate(modelPath, fixturesPath)}`,
    );
  }
  const { size, kind } = model.raw.input;
  const classes = model.raw.labels.length;
  fixtures.cases.forEach((c, k) => {
    const count = c.values !== undefined ? decodeValues(c.values)!.length : decodeBase64(c.pixels!)!.length;
    const misfit =
      (c.values !== undefined) !== (kind === 'vector')
        ? `has ${c.values !== undefined ? 'values' : 'pixels'}, the model is ${kind === 'vector' ? 'a vector' : 'an image'} model`
        : count !== size
          ? `${c.values !== undefined ? 'values decode to' : 'pixels decode to'} ${count} ${c.values !== undefined ? 'values' : 'bytes'}, the model takes ${size}`
          : c.probs.length !== classes
            ? `probs has ${c.probs.length} entries, the model has ${classes} classes`
            : c.label >= classes
              ? `label ${c.label} is not one of the model's ${classes} classes`
              : '';
    if (misfit)
      throw invalidInput(`${fixturesPath}: cases[${k}] (${c.id}): ${misfit}; ${regenerate(modelPath, fixturesPath)}`);
  });
  const tolerance = opts.tolerance ?? fixtures.tolerance;
  if (!Number.isFinite(tolerance) || tolerance < 0)
    throw new OptionError('tolerance', `${tolerance}: expected a finite number >= 0`);
  if (opts.tolerance === undefined && fixtures.tolerance > maxTolerance)
    throw invalidInput(
      `${fixturesPath}: tolerance ${fixtures.tolerance} is above the maximum ${sci(maxTolerance)} (maxTolerance, --max-tolerance): ` +
        `the file under test cannot loosen its own gate; regenerate it (\`digitkit fixtures\` writes ${sci(CONTRACT_TOLERANCE)}) ` +
        `or, if you mean a looser gate, say so with --tolerance or --max-tolerance`,
    );
  return {
    fixtures,
    fixturesPath,
    model,
    tolerance,
    toleranceFrom: opts.tolerance === undefined ? 'fixtures' : 'option',
    maxTolerance,
  };
}

export interface VerifyReport extends ParityReport {
  /** Where the tolerance applied came from: the fixtures' own (at most maxTolerance) or the caller's. */
  toleranceFrom: 'fixtures' | 'option';
  maxTolerance: number;
  model: { path: string; sha256: string };
  fixtures: string;
  core: string;
}

/** Relative to the working directory when inside it, else as given. */
export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/**
 * The check through one module in this Node.js (default: the shipped core; `digitkit verify --core
 * FILE`). Returns the report; `ok` false means exit 1. `runVerifyRuntimes` is the whole default check
 * (the core and core-wasm, a row each).
 */
export async function runVerify(opts: VerifyOptions = {}): Promise<VerifyReport> {
  const { runOneRuntime } = await import('./verify-runtimes.js');
  return runOneRuntime('node', opts);
}
