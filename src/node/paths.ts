/**
 * Every default path, in one place: the files and directories commands fall back on when a flag is
 * not given (relative to the working directory, like the flags), and the inference core module as
 * this install ships it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The four MNIST IDX files: `download` writes them; train, quantize, fixtures and eval read them. */
export const DEFAULT_DATA_DIR = 'data/mnist';
/** Where `pipeline` writes both models. */
export const DEFAULT_MODELS_DIR = 'models';
/** The float model's and the int8 model's file names inside DEFAULT_MODELS_DIR (or pipeline's --models). */
export const FLOAT_MODEL_NAME = 'mnist-f32.json';
export const INT8_MODEL_NAME = 'mnist-int8.json';
/** What `train` writes and `quantize` reads. */
export const DEFAULT_FLOAT_MODEL = `${DEFAULT_MODELS_DIR}/${FLOAT_MODEL_NAME}`;
/** The shipped model: what `quantize` writes and fixtures, verify, predict, eval and web read. */
export const DEFAULT_MODEL = `${DEFAULT_MODELS_DIR}/${INT8_MODEL_NAME}`;
/** The parity fixtures `fixtures` writes and `verify` checks. */
export const DEFAULT_FIXTURES = 'fixtures/parity.json';

/** The core module as shipped (dist/core/index.js, what `digitkit/core` exports): verify checks it, web copies it. */
export const SHIPPED_CORE = fileURLToPath(new URL('../../dist/core/index.js', import.meta.url));
/** digitkit/core-wasm as shipped (dist/core-wasm/index.js): verify checks it beside the core, web copies it. */
export const SHIPPED_CORE_WASM = fileURLToPath(new URL('../../dist/core-wasm/index.js', import.meta.url));
/** Where `explain` writes its panels. */
export const DEFAULT_EXPLAIN_DIR = 'explained';
/** The explain module as shipped (dist/explain/index.js, what `digitkit/explain` exports): web copies it. */
export const SHIPPED_EXPLAIN = fileURLToPath(new URL('../../dist/explain/index.js', import.meta.url));

/**
 * The package's own copies of the shipped files (what `npm install digitkit` puts in
 * node_modules/digitkit/): a command or library call that is given no path and finds no file at the
 * default path in the working directory uses these, and says so (`isShipped`).
 */
const packageFile = (rel: string) => fileURLToPath(new URL(`../../${rel}`, import.meta.url));
export const SHIPPED_MODEL = packageFile(DEFAULT_MODEL);
export const SHIPPED_FLOAT_MODEL = packageFile(DEFAULT_FLOAT_MODEL);
export const SHIPPED_FIXTURES = packageFile(DEFAULT_FIXTURES);

/** Whether `file` is the package's own copy, used because the working directory has none (output says so). */
export const isShipped = (file: string): boolean =>
  file === SHIPPED_MODEL || file === SHIPPED_FLOAT_MODEL || file === SHIPPED_FIXTURES;

/**
 * The file a command reads when not told which: `given` when given; else the working directory's
 * `local` (e.g. models/mnist-int8.json) when it exists, as always; else the package's `shipped` copy
 * (an absolute path, so isShipped() knows it), so an installed digitkit works from any directory.
 */
export function defaultInput(given: string | undefined, local: string, shipped: string): string {
  if (given !== undefined) return given;
  return fs.existsSync(local) || !fs.existsSync(shipped) ? local : shipped;
}

/** The int8 model fixtures, verify, predict, eval, explain, web and export read when not given one. */
export const defaultModel = (given?: string): string => defaultInput(given, DEFAULT_MODEL, SHIPPED_MODEL);
/** The float model quantize reads when not given one. */
export const defaultFloatModel = (given?: string): string =>
  defaultInput(given, DEFAULT_FLOAT_MODEL, SHIPPED_FLOAT_MODEL);
/** The parity fixtures verify reads when not given any: fixtures/parity.json here, else the shipped copy. */
export const defaultFixtures = (given?: string): string => defaultInput(given, DEFAULT_FIXTURES, SHIPPED_FIXTURES);

/**
 * For command output, when some of `files` are the package's own copies: "models/mnist-int8.json and
 * fixtures/parity.json: the copies digitkit ships (none in this directory)"; undefined when none are.
 */
export function shippedLine(files: readonly string[]): string | undefined {
  const names = files.filter(isShipped).map((f) => path.relative(packageFile('.'), f).split(path.sep).join('/'));
  if (!names.length) return undefined;
  return `${names.join(' and ')}: the ${names.length > 1 ? 'copies' : 'copy'} digitkit ships (none in this directory)`;
}

/** A --help description's default for a file that falls back to the shipped copy. */
export const orShipped = (local: string): string =>
  `(default: ${local}, or the copy digitkit ships if there is none here)`;
