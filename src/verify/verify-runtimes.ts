/**
 * `digitkit verify --runtime node,chromium,firefox,deno,bun,onnxruntime`: the same fixtures through
 * every runtime asked for, a row each (runtime, version, max |Δp| with its case and class, correct
 * count, time), optionally a JUnit file and GitHub Actions annotations. By default each JavaScript
 * runtime loads both shipped inference modules, the core and digitkit/core-wasm (its WebAssembly SIMD
 * kernel where the runtime has wasm SIMD, else its fallback to the core): a row each, and the row
 * says which engine core-wasm ran.
 *
 * Order of failure: unusable inputs first (exit 3: model, fixtures, a missing module), then every
 * runtime is looked for before any starts (exit 4 naming how to install the first missing one); a
 * module that does not load in a runtime, or refuses the model, is exit 3 too. A module that runs but
 * throws is that runtime's row failing (its cases are errors), and the others still run.
 */
import { performance } from 'node:perf_hooks';
import { checkOutput, writeFileAtomic } from '../node/atomic.js';
import { readInputFile } from '../node/input-file.js';
import { SHIPPED_CORE, SHIPPED_CORE_WASM } from '../node/paths.js';
import { reportToGitHub } from './github.js';
import { junitXml, type JunitSuite } from './junit.js';
import { ADAPTERS, RUNTIME_NAMES, type Runtime, type RuntimeName } from './runtimes/index.js';
import { RuntimeFailure } from './runtimes/runtime.js';
import {
  caseInputs,
  compareProbs,
  displayPath,
  loadVerifyInputs,
  type ParityReport,
  type VerifyOptions,
  type VerifyReport,
} from './verify.js';
import { DigitkitError, ExitCode } from '../errors.js';

export interface RuntimesVerifyOptions extends Omit<VerifyOptions, 'core'> {
  /** Runtimes to run, in order (default: node). */
  runtimes?: readonly RuntimeName[];
  /** Modules the JavaScript runtimes load, each a row (default: the shipped core and core-wasm). */
  modules?: readonly string[];
  /** Chromium executable (default: $DIGITKIT_CHROMIUM, else /usr/bin/chromium…). */
  chromium?: string;
  /** Write the results as JUnit XML to this file. */
  junit?: string;
  /** Lines for GitHub Actions (annotations), when GITHUB_ACTIONS=true; default: none printed. */
  print?: (line: string) => void;
}

export interface RuntimeRow extends ParityReport {
  runtime: RuntimeName;
  /** The row's name: the runtime's, with the module when several modules run. */
  name: string;
  /** How the runtime names itself, e.g. "Firefox 153.8.0". */
  version: string;
  /** The module it loaded (display path), or what it ran instead ("ONNX export, float64"). */
  module: string;
  /**
   * What ran the cases, when the module names it (core-wasm: "wasm", its WebAssembly SIMD kernel, or
   * "core", its fallback where the runtime has no wasm SIMD). Absent for the core and onnxruntime.
   */
  engine?: string;
  seconds: number;
  /** The module threw in this runtime: its cases did not run. */
  error?: string;
}

export interface RuntimesReport {
  ok: boolean;
  model: { path: string; sha256: string };
  fixtures: string;
  /** The tolerance applied to every row. */
  tolerance: number;
  /** Where it came from: the fixtures' own (at most maxTolerance) or the caller's `tolerance`. */
  toleranceFrom: 'fixtures' | 'option';
  maxTolerance: number;
  cases: number;
  rows: RuntimeRow[];
  junit?: string;
}

/** "node,chromium" (and repeats) -> runtime names, deduplicated, in order; anything else is a usage error. */
export function parseRuntimes(list: readonly string[]): RuntimeName[] | string {
  const names = list.flatMap((s) => s.split(',')).map((s) => s.trim().toLowerCase());
  const bad = names.find((n) => !(RUNTIME_NAMES as readonly string[]).includes(n));
  if (bad !== undefined) return `unknown runtime "${bad}" (expected ${RUNTIME_NAMES.join(', ')})`;
  return [...new Set(names)] as RuntimeName[];
}

export async function runVerifyRuntimes(opts: RuntimesVerifyOptions = {}): Promise<RuntimesReport> {
  const { fixtures, fixturesPath, model, tolerance, toleranceFrom, maxTolerance } = await loadVerifyInputs(opts);
  if (opts.junit) await checkOutput(opts.junit);
  const runtimes = opts.runtimes?.length ? opts.runtimes : (['node'] as const);
  const modules = opts.modules?.length ? opts.modules : [SHIPPED_CORE, SHIPPED_CORE_WASM];
  for (const m of modules) await readInputFile(m, { kind: 'core module', missing: 'no such core module' });
  const adapters = await Promise.all(runtimes.map((r) => ADAPTERS[r]()));
  for (const a of adapters) a.find({ executable: a.name === 'chromium' ? opts.chromium : undefined });

  const { inputs, values } = caseInputs(fixtures.cases);
  const job = { modelText: model.bytes.toString('utf8'), raw: model.raw, source: model.path, inputs, values };
  const rows: RuntimeRow[] = [];
  for (const adapter of adapters) {
    let start = performance.now();
    const runtime: Runtime = await adapter.open({
      executable: adapter.name === 'chromium' ? opts.chromium : undefined,
    });
    try {
      for (const module of runtime.loadsModule ? modules : [null]) {
        const shown = module ? displayPath(module) : 'ONNX export, float64';
        const name = module && modules.length > 1 ? `${runtime.name} (${shown})` : runtime.name;
        let actual: number[][] = [];
        let engine: string | undefined;
        let error: string | undefined;
        try {
          ({ probs: actual, engine } = await runtime.run({ ...job, module: module ?? '' }));
        } catch (err) {
          if (!(err instanceof RuntimeFailure)) throw err;
          error = err.message;
        }
        const parity = compareProbs(fixtures.cases, actual, tolerance);
        const seconds = (performance.now() - start) / 1000;
        start = performance.now();
        rows.push({
          ...parity,
          ok: parity.ok && !error,
          runtime: runtime.name,
          name,
          version: runtime.version,
          module: shown,
          ...(engine && { engine }),
          seconds,
          ...(error && { error, failures: [] }),
        });
      }
    } finally {
      await runtime.close();
    }
  }

  const report: RuntimesReport = {
    ok: rows.every((r) => r.ok),
    model: { path: model.path, sha256: model.sha256 },
    fixtures: fixturesPath,
    tolerance,
    toleranceFrom,
    maxTolerance,
    cases: fixtures.cases.length,
    rows,
  };
  if (opts.junit) {
    const suites: JunitSuite[] = rows.map((r) => {
      const failed = new Map(r.failures.map((f) => [f.id, f]));
      return {
        name: r.name,
        properties: {
          runtime: r.runtime,
          version: r.version,
          module: r.module,
          ...(r.engine && { engine: r.engine }),
          model: model.path,
          'model.sha256': model.sha256,
          fixtures: fixturesPath,
          tolerance: String(tolerance),
          correct: `${r.correct}/${r.cases}`,
        },
        cases: fixtures.cases.map((c) => ({ id: c.id, failure: failed.get(c.id) })),
        error: r.error,
        seconds: r.seconds,
        tolerance,
      };
    });
    await writeFileAtomic(opts.junit, junitXml(suites));
    report.junit = opts.junit;
  }
  if (opts.print)
    reportToGitHub(
      rows,
      {
        model: model.path,
        fixtures: fixturesPath,
        fixturesText: (await readInputFile(fixturesPath, { kind: 'fixtures' })).toString('utf8'),
        tolerance,
        cases: fixtures.cases.length,
      },
      opts.print,
    );
  return report;
}

/**
 * The check in one runtime through one module (default: the shipped core), reported as `verify`
 * always has (the library's runVerify and runVerifyBrowser): the module throwing is exit 1 naming it,
 * not a row.
 */
export async function runOneRuntime(
  runtime: RuntimeName,
  opts: VerifyOptions & { chromium?: string },
): Promise<VerifyReport & { runtime: RuntimeName; version: string }> {
  const r = await runVerifyRuntimes({ ...opts, runtimes: [runtime], modules: [opts.core ?? SHIPPED_CORE] });
  const row = r.rows[0];
  if (row.error)
    throw new DigitkitError(
      ExitCode.checkFailed,
      `the core at ${row.module} failed${runtime === 'node' ? '' : ` in ${row.version}`}: ${row.error}`,
    );
  const { ok, tolerance, cases, correct, max, failures } = row;
  return {
    ok,
    tolerance,
    toleranceFrom: r.toleranceFrom,
    maxTolerance: r.maxTolerance,
    cases,
    correct,
    max,
    failures,
    model: r.model,
    fixtures: r.fixtures,
    core: row.module,
    runtime,
    version: row.version,
  };
}
