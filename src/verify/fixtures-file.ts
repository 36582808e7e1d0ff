/**
 * The parity fixtures file (docs/contracts/fixtures-format.md): its types, a strict reader (every
 * problem is exit 3 naming the file and the field) and a deterministic writer.
 */
import { decodeBase64 } from '../core/index.js';
import { invalidInput } from '../errors.js';
import { shown } from '../format.js';
import { checkJsonShape, readInputFile } from '../node/input-file.js';
import { DEFAULT_FIXTURES, DEFAULT_MODEL, defaultFixtures, isShipped } from '../node/paths.js';

export const FIXTURES_FORMAT = 'digitkit-fixtures';
/** The newest version this reader knows (it reads 1 and 2); the writer uses 1 whenever every case has pixels. */
export const FIXTURES_VERSION = 2;
/** The contract's tolerance: what `fixtures` writes, and the most `verify` lets a file ask for (--max-tolerance). */
export const CONTRACT_TOLERANCE = 1e-6;
/** Files above this size are rejected before parsing. */
export const MAX_FIXTURES_BYTES = 64 * 1024 * 1024;

export interface FixtureCase {
  id: string;
  /** The index of the true class. */
  label: number;
  /** Image models: base64 of the model's input pixels (uint8, row-major, channels interleaved). */
  pixels?: string;
  /** Vector models (version 2): base64 of the raw feature values, float64 little-endian. */
  values?: string;
  /** Expected probabilities, one per class. */
  probs: number[];
}

export interface Fixtures {
  format: typeof FIXTURES_FORMAT;
  version: 1 | 2;
  model: { path: string; sha256: string };
  tolerance: number;
  reference: string;
  cases: FixtureCase[];
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const show = (v: unknown) => (v === undefined ? 'missing' : (JSON.stringify(v)?.slice(0, 40) ?? String(v)));

/** A case's `values` as numbers, or null when it is not base64 of whole float64s. */
export function decodeValues(s: string): Float64Array | null {
  const b = decodeBase64(s);
  if (!b || b.length % 8) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Float64Array.from({ length: b.length / 8 }, (_, i) => dv.getFloat64(8 * i, true));
}

/** Base64 of raw feature values, float64 little-endian (a case's `values`). */
export function encodeValues(v: ArrayLike<number>): string {
  const b = Buffer.alloc(8 * v.length);
  for (let i = 0; i < v.length; i++) b.writeDoubleLE(v[i], 8 * i);
  return b.toString('base64');
}

/** Validate a fixtures document (text or parsed JSON); `source` names the file in errors. */
export function parseFixtures(text: string | unknown, source: string): Fixtures {
  const fail = (field: string, problem: string): never => {
    throw invalidInput(`${source}: ${field ? field + ' ' : ''}${problem}`);
  };
  let doc: unknown = text;
  if (typeof text === 'string') {
    try {
      doc = JSON.parse(text);
    } catch (e) {
      // V8's message quotes the text around the error, newlines included: one line, escaped.
      fail('', `is not valid JSON (${shown((e as Error).message)})`);
    }
  }
  if (!isObject(doc)) return fail('', 'is not a JSON object');
  if (doc.format !== FIXTURES_FORMAT) fail('format', `is ${show(doc.format)}, expected "${FIXTURES_FORMAT}"`);
  const version = doc.version as 1 | 2;
  if (version !== 1 && version !== 2) fail('version', `is ${show(version)}, this reader knows versions 1 and 2`);
  const model = doc.model;
  if (!isObject(model)) return fail('model', `is ${show(model)}, expected an object with path and sha256`);
  if (typeof model.path !== 'string') fail('model.path', `is ${show(model.path)}, expected a string`);
  if (typeof model.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(model.sha256))
    fail('model.sha256', `is ${show(model.sha256)}, expected 64 lowercase hex digits`);
  const tol = doc.tolerance;
  if (typeof tol !== 'number' || !Number.isFinite(tol) || tol < 0)
    fail('tolerance', `is ${show(tol)}, expected a finite number >= 0`);
  if (typeof doc.reference !== 'string')
    fail('reference', `is ${show(doc.reference)}, expected a string such as "float64"`);
  if (!Array.isArray(doc.cases)) return fail('cases', `is ${show(doc.cases)}, expected an array`);
  // Nothing checked is never a pass.
  if (doc.cases.length === 0) fail('cases', 'is empty: there is nothing to verify');
  const ids = new Set<string>();
  const cases = doc.cases.map((c: unknown, k: number): FixtureCase => {
    const at = `cases[${k}]`;
    if (!isObject(c)) return fail(at, `is ${show(c)}, expected an object`);
    if (typeof c.id !== 'string' || c.id === '') fail(`${at}.id`, `is ${show(c.id)}, expected a non-empty string`);
    if (ids.has(c.id as string)) fail(`${at}.id`, `${show(c.id)} appears twice`);
    ids.add(c.id as string);
    if (!Number.isInteger(c.label) || (c.label as number) < 0)
      fail(`${at}.label`, `is ${show(c.label)}, expected a class index`);
    // Exactly one input per case: pixels (an image model's), or values (a vector model's, version 2).
    if (c.values === undefined || version === 1) {
      if (c.values !== undefined) fail(`${at}.values`, 'is not allowed in a version-1 file (pixels only)');
      if (typeof c.pixels !== 'string' || !decodeBase64(c.pixels))
        fail(`${at}.pixels`, 'is not valid base64 (RFC 4648, with padding)');
    } else {
      if (c.pixels !== undefined) fail(at, 'has both pixels and values, expected one of them');
      const v = typeof c.values === 'string' ? decodeValues(c.values) : null;
      if (!v?.length) fail(`${at}.values`, 'is not base64 of float64 values (8 bytes each, RFC 4648 with padding)');
      const nan = v!.findIndex((x) => !Number.isFinite(x));
      if (nan >= 0) fail(`${at}.values`, `holds a non-finite value at index ${nan}`);
    }
    const probs = c.probs;
    if (!Array.isArray(probs) || probs.length === 0)
      return fail(`${at}.probs`, `is ${show(probs)}, expected an array of numbers`);
    const bad = probs.findIndex((p) => typeof p !== 'number' || !Number.isFinite(p));
    if (bad >= 0) fail(`${at}.probs[${bad}]`, `is ${show(probs[bad])}, expected a finite number`);
    const input = c.values === undefined ? { pixels: c.pixels as string } : { values: c.values as string };
    return { id: c.id as string, label: c.label as number, ...input, probs };
  });
  return {
    format: FIXTURES_FORMAT,
    version,
    model: { path: model.path as string, sha256: model.sha256 as string },
    tolerance: tol as number,
    reference: doc.reference as string,
    cases,
  };
}

/** Read and validate a fixtures file; unreadable or invalid is exit 3 naming the file. */
export async function readFixturesFile(file: string): Promise<Fixtures> {
  const bytes = await readInputFile(file, {
    kind: 'fixtures',
    limit: MAX_FIXTURES_BYTES,
    missing: `no such fixtures file (make one with \`digitkit fixtures --out ${file}\`)`,
  });
  checkJsonShape(bytes, file);
  return parseFixtures(bytes.toString('utf8'), file);
}

/**
 * Serialize fixtures: fixed key order, one case per line, numbers in full float64 precision. Version 1
 * whenever every case has pixels (version-1 readers keep working), else 2.
 */
export function formatFixtures(f: Fixtures): string {
  const head = {
    format: f.format,
    version: f.cases.every((c) => c.values === undefined) ? 1 : 2,
    model: f.model,
    tolerance: f.tolerance,
    reference: f.reference,
  };
  const cases = f.cases.map(
    (c) => '  ' + JSON.stringify({ id: c.id, label: c.label, pixels: c.pixels, values: c.values, probs: c.probs }),
  );
  return `${JSON.stringify(head).slice(0, -1)},\n"cases": [\n${cases.join(',\n')}\n]}\n`;
}

/**
 * Where a model's fixtures go by default: fixtures/parity.json for the shipped MNIST model, else
 * fixtures/<model name>-parity.json (models/wine-int8.json -> fixtures/wine-parity.json), so fixtures
 * of one model never overwrite another's.
 */
export function fixturesPathFor(model: string): string {
  if (model.split('\\').join('/') === DEFAULT_MODEL) return DEFAULT_FIXTURES;
  const name = (model.split(/[\\/]/).pop() ?? 'model').replace(/\.json$/i, '').replace(/-int[48]$/i, '');
  return `fixtures/${name}-parity.json`;
}

/**
 * The fixtures verify and the page's self-test read for `model` when not told which: fixturesPathFor's,
 * except that for the model digitkit ships (used because the working directory has none) it is the
 * working directory's fixtures/parity.json when there is one, else the package's own.
 */
export const fixturesToRead = (model: string): string =>
  isShipped(model) ? defaultFixtures() : fixturesPathFor(model);
