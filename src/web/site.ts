/**
 * `digitkit web <outdir>`: the browser demo as a self-contained static site. The page imports one
 * inference module exactly as shipped (byte-identical copies of the files `verify` tests): where the
 * browser has WebAssembly SIMD, dist/core-wasm/index.js (the core bundled in), else dist/core/index.js;
 * it runs the core's own preprocessing, so a drawing is classified as `predict` would; the explain
 * module (dist/explain/index.js, as shipped) draws what the network sees. The parity fixtures
 * made for the model go beside it as fixtures.json, and the page runs them on load (its self-test).
 *
 * Nothing half-written ever appears in <outdir>: every file is written and fsynced in a staging
 * directory beside it first (all the work that can fail happens there), then committed by rename.
 * A new or empty <outdir> is the staging directory renamed into place, one atomic step; an existing
 * site (or a directory given with --force) gets each file renamed over its old version, each step
 * atomic, and keeps any other file a user put there.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { DigitkitError, ExitCode, usageError } from '../errors.js';
import { readModelFile } from '../node/model-file.js';
import { writeSynced } from '../node/atomic.js';
import { readInputFile, type InputFileRules } from '../node/input-file.js';
import {
  DEFAULT_FIXTURES,
  DEFAULT_MODEL,
  defaultModel,
  SHIPPED_CORE,
  SHIPPED_CORE_WASM,
  SHIPPED_EXPLAIN,
} from '../node/paths.js';
import { fixturesPathFor, fixturesToRead } from '../verify/fixtures-file.js';
import { readFixturesFile } from '../verify/fixtures-file.js';
import { loadVerifyInputs } from '../verify/verify.js';

/** The page's own files (src/web/assets, copied to dist/web/assets by the build). */
const ASSETS = new URL('./assets/', import.meta.url);
export const PAGE_ASSETS = ['index.html', 'style.css', 'app.js', 'engine.js'];
/**
 * What the page's engine imports, under names that say what they are: one of the two shipped inference
 * modules (core-wasm where the browser has wasm SIMD, else the core), and the explain module.
 */
export const CORE_FILE = 'digitkit-core.js';
export const CORE_WASM_FILE = 'digitkit-core-wasm.js';
export const EXPLAIN_FILE = 'digitkit-explain.js';
export const MODEL_FILE = 'model.json';
/** The parity fixtures for the model, fetched by the page's self-test only (counted apart from the page). */
export const FIXTURES_FILE = 'fixtures.json';
export const SITE_FILES = [...PAGE_ASSETS, CORE_FILE, CORE_WASM_FILE, EXPLAIN_FILE, MODEL_FILE, FIXTURES_FILE];
/**
 * index.html carries this tag, so a later run knows the directory is a site it wrote. Either HTML
 * spelling counts: sites written before the page was formatted end it with ">", now with " />".
 */
export const SITE_MARKER = /<meta name="generator" content="digitkit web"\s*\/?>/;
/**
 * The page's Content-Security-Policy, as its index.html's <meta> tag states it (a test keeps the two
 * equal); `web --serve` also sends it as a header, which covers every response, not only the page.
 * 'wasm-unsafe-eval' lets core-wasm compile its kernel (WebAssembly only: no eval of JavaScript).
 */
export const SITE_CSP =
  "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'; img-src 'self' data:";
/**
 * The page with the int8 model must stay within this (the budget) as a browser without wasm
 * SIMD loads it: the page's files, the model and the core. fixtures.json is not counted.
 */
export const PAGE_BUDGET_BYTES = 200_000;
/**
 * The same page as a browser with wasm SIMD loads it (core-wasm instead of the core): the budget plus
 * 15,000 bytes for what the faster engine carries (its kernel, 13,092 bytes of base64, and its loader).
 */
export const WASM_PAGE_BUDGET_BYTES = 215_000;
/** fixtures.json, loaded only for the self-test, has its own budget (100 cases of 28x28 are ~131 KB). */
export const FIXTURES_BUDGET_BYTES = 150_000;

export interface WebOptions {
  outDir: string;
  model?: string;
  /**
   * Fixtures for the page's self-test: must be made for the model (exit 3 otherwise). Default:
   * the model's default fixtures (fixtures/parity.json for MNIST's) when they exist and were made for it, else no self-test (`selfTest` says why).
   */
  fixtures?: string;
  /** Write into a non-empty directory that is not a previous digitkit site. */
  force?: boolean;
}

export interface WebReport {
  outDir: string;
  files: { name: string; bytes: number }[];
  /**
   * What a browser downloads to show the page (every file but fixtures.json and the inference module
   * it does not run), the larger of the two loads: what the budget counts.
   */
  totalBytes: number;
  /** The page as each kind of browser loads it: with wasm SIMD (core-wasm) and without (the core). */
  loads: { wasm: number; core: number };
  budgetBytes: number;
  /** The budget for the load with wasm SIMD (`loads.wasm`). */
  wasmBudgetBytes: number;
  coreGzipBytes: number;
  coreWasmGzipBytes: number;
  explainGzipBytes: number;
  /** The self-test's fixtures (fixtures.json), or null with the reason there is none. */
  selfTest:
    { fixtures: string; cases: number; bytes: number; budgetBytes: number } | { fixtures: null; reason: string };
  model: { path: string; sha256: string; dtype: string };
  /** What was at <outdir> before: nothing (or an empty directory), an earlier site, or other files (--force). */
  previous: 'none' | 'site' | 'forced';
}

/** The page's own files and the core come with this install: one missing means it is broken (exit 70). */
const PAGE_FILE: InputFileRules = {
  kind: 'page',
  error: (message) =>
    new DigitkitError(
      ExitCode.internal,
      `${message}; the page's files are missing from this install: run \`npm run build\``,
    ),
};

const errCode = (err: unknown) => (err as NodeJS.ErrnoException).code ?? (err as Error).message;

/** What is at `dir` now, refusing anything a site must not replace (exit 2). */
async function inspectOutDir(
  dir: string,
  force: boolean,
): Promise<{ exists: boolean; previous: WebReport['previous'] }> {
  const st = await fsp.lstat(dir).catch((err) => {
    if (err.code === 'ENOENT') return null;
    throw usageError(`${dir}: cannot read (${errCode(err)})`);
  });
  if (!st) return { exists: false, previous: 'none' };
  if (!st.isDirectory()) throw usageError(`${dir}: exists and is not a directory`);
  const entries = await fsp.readdir(dir, { withFileTypes: true });
  if (entries.length === 0) return { exists: true, previous: 'none' };
  // A directory where a site file goes would make its rename fail halfway: refuse before writing.
  const blocking = entries.find((e) => SITE_FILES.includes(e.name) && !e.isFile());
  if (blocking)
    throw usageError(`${path.join(dir, blocking.name)}: exists and is not a file; the site writes a file there`);
  const index = await fsp.readFile(path.join(dir, 'index.html'), 'utf8').catch(() => '');
  if (SITE_MARKER.test(index)) return { exists: true, previous: 'site' };
  if (!force) {
    throw usageError(
      `${dir}: not empty and not a site \`digitkit web\` wrote (${entries.length} entries); ` +
        `choose a new directory, or pass --force to write the site into it (files named ${SITE_FILES.join(', ')} are replaced, others kept)`,
    );
  }
  return { exists: true, previous: 'forced' };
}

/** Write the site (see the file comment for how it stays whole). Model problems: exit 3; outdir problems: exit 2. */
export async function writeSite(opts: WebOptions): Promise<WebReport> {
  const outDir = opts.outDir;
  const modelPath = defaultModel(opts.model);
  const model = await readModelFile(modelPath);
  // Every model kind has its page: a digit model the drawing pad, a "resize" model a picture to drop or
  // open, a vector model a form with a field per feature.
  const { exists, previous } = await inspectOutDir(outDir, Boolean(opts.force));
  const selfTest = await findFixtures(modelPath, opts.fixtures);

  const files = new Map<string, Uint8Array>();
  for (const name of PAGE_ASSETS) files.set(name, await readInputFile(fileURLToPath(new URL(name, ASSETS)), PAGE_FILE));
  files.set(CORE_FILE, await readInputFile(SHIPPED_CORE, PAGE_FILE));
  files.set(CORE_WASM_FILE, await readInputFile(SHIPPED_CORE_WASM, PAGE_FILE));
  files.set(EXPLAIN_FILE, await readInputFile(SHIPPED_EXPLAIN, PAGE_FILE));
  files.set(MODEL_FILE, model.bytes);
  if (selfTest.bytes) files.set(FIXTURES_FILE, selfTest.bytes);

  const parent = path.dirname(path.resolve(outDir));
  await fsp.mkdir(parent, { recursive: true }).catch((err) => {
    throw usageError(`${parent}: cannot create the directory (${errCode(err)})`);
  });
  const stage = path.join(
    parent,
    `.${path.basename(path.resolve(outDir))}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  // Ctrl-C (which exits at once) or a crash mid-write: the staging directory goes with the process.
  const removeStage = () => fs.rmSync(stage, { recursive: true, force: true });
  process.on('exit', removeStage);
  try {
    await fsp.mkdir(stage).catch((err) => {
      throw usageError(`${parent}: cannot write there (${errCode(err)})`);
    });
    for (const [name, data] of files) await writeSynced(path.join(stage, name), data);
    let moved = false;
    if (!exists || previous === 'none') {
      // rename(2) replaces an empty directory; if one appeared or filled meanwhile, go file by file.
      moved = await fsp.rename(stage, outDir).then(
        () => true,
        () => false,
      );
    }
    if (!moved) {
      await fsp.mkdir(outDir, { recursive: true });
      for (const name of files.keys()) await fsp.rename(path.join(stage, name), path.join(outDir, name));
      // An earlier site's fixtures are for its model: a site without a self-test must not keep them.
      if (!files.has(FIXTURES_FILE)) await fsp.rm(path.join(outDir, FIXTURES_FILE), { force: true });
    }
  } catch (err) {
    if (err instanceof DigitkitError) throw err;
    throw new DigitkitError(ExitCode.usage, `${outDir}: cannot write the site (${errCode(err)})`);
  } finally {
    removeStage();
    process.off('exit', removeStage);
  }

  const list = [...files].map(([name, data]) => ({ name, bytes: data.length }));
  const loaded = (skip: string) =>
    list.filter((f) => f.name !== FIXTURES_FILE && f.name !== skip).reduce((s, f) => s + f.bytes, 0);
  const loads = { wasm: loaded(CORE_FILE), core: loaded(CORE_WASM_FILE) };
  return {
    outDir,
    files: list,
    totalBytes: Math.max(loads.wasm, loads.core),
    loads,
    budgetBytes: PAGE_BUDGET_BYTES,
    wasmBudgetBytes: WASM_PAGE_BUDGET_BYTES,
    coreGzipBytes: gzipSync(files.get(CORE_FILE)!, { level: 9 }).length,
    coreWasmGzipBytes: gzipSync(files.get(CORE_WASM_FILE)!, { level: 9 }).length,
    explainGzipBytes: gzipSync(files.get(EXPLAIN_FILE)!, { level: 9 }).length,
    selfTest: selfTest.bytes
      ? {
          fixtures: selfTest.path,
          cases: selfTest.cases,
          bytes: selfTest.bytes.length,
          budgetBytes: FIXTURES_BUDGET_BYTES,
        }
      : { fixtures: null, reason: selfTest.reason },
    model: { path: modelPath, sha256: model.sha256, dtype: model.raw.dtype },
    previous,
  };
}

type FoundFixtures =
  { path: string; bytes: Uint8Array; cases: number; reason?: undefined } | { bytes?: undefined; reason: string };

/**
 * The fixtures the page's self-test runs: `explicit` (--fixtures) must exist and be made for the model
 * (verify's own checks; exit 3 otherwise); without it, the model's default fixtures file is used only when it is.
 */
async function findFixtures(model: string, explicit?: string): Promise<FoundFixtures> {
  // The model's own default fixtures (what `digitkit fixtures` writes for it; for the model digitkit
  // ships, the working directory's fixtures/parity.json, else the shipped ones), else fixtures/parity.json.
  const file =
    explicit ?? [fixturesToRead(model), DEFAULT_FIXTURES].find((f) => fs.existsSync(f)) ?? fixturesToRead(model);
  if (!explicit && !fs.existsSync(file)) return { reason: `no ${file}` };
  try {
    if (!explicit) {
      const [f, m] = await Promise.all([readFixturesFile(file), readModelFile(model)]);
      if (f.model.sha256 !== m.sha256) return { reason: `${file} was made for another model (${f.model.path})` };
    }
    const { fixtures } = await loadVerifyInputs({ model, fixtures: file });
    return { path: file, bytes: await fsp.readFile(file), cases: fixtures.cases.length };
  } catch (err) {
    if (explicit || !(err instanceof DigitkitError)) throw err;
    return { reason: err.message };
  }
}
