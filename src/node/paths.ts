/**
 * Every default path, in one place: the files and directories commands fall back on when a flag is
 * not given (relative to the working directory, like the flags), and the inference core module as
 * this install ships it.
 */
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
