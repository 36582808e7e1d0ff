/**
 * digitkit as a library: the functions the `digitkit` commands call, typed, for servers and build
 * scripts that would rather not shell out. Everything here runs in Node; the browser-safe inference
 * core on its own is `digitkit/core`, its WebAssembly SIMD build `digitkit/core-wasm`, and the
 * browser-safe explain module `digitkit/explain`.
 *
 *   import { loadShippedModel, loadModelFile, classifyPixels, runVerifyRuntimes } from 'digitkit';
 *   const model = await loadShippedModel();   // or loadModelFile('models/mnist-int8.json')
 *   classifyPixels(model, pixels);            // { index, label, probability, probs }
 *   (await runVerifyRuntimes()).ok;           // what `digitkit verify` checks (the core and core-wasm)
 *
 * Failures throw DigitkitError, whose `code` is the CLI's exit code (3: invalid input, ...).
 */
import { readModelFile } from './node/model-file.js';
import { SHIPPED_MODEL } from './node/paths.js';
import type { Model } from './core/index.js';

export {
  classifyPixels,
  classifyValues,
  prepareImage,
  preprocess,
  toGray,
  type Preprocessed,
  decodeBase64,
  forward,
  forwardBatch,
  forwardPixels,
  forwardValues,
  loadModel,
  MAX_MODEL_BYTES,
  MODEL_FORMAT,
  MODEL_VERSION,
  ModelError,
  parseRawModel,
  pixelsToInput,
  softmax,
  type Classification,
  type ImageInput,
  type LayerDtype,
  type Model,
  type ModelInfo,
  type RawLayer,
  type RawModel,
  type VectorInput,
} from './core/index.js';
export { DigitkitError, ExitCode, InterruptedError, OptionError, type ExitCodeValue } from './errors.js';
export {
  describeInput,
  formatModel,
  readModelFile,
  type InputToWrite,
  type ModelFile,
  type ModelToWrite,
  type LayerToWrite,
} from './node/model-file.js';
export {
  DEFAULT_DATA_DIR,
  DEFAULT_FIXTURES,
  DEFAULT_FLOAT_MODEL,
  DEFAULT_MODEL,
  DEFAULT_MODELS_DIR,
  SHIPPED_CORE,
  SHIPPED_FIXTURES,
  SHIPPED_FLOAT_MODEL,
  SHIPPED_MODEL,
} from './node/paths.js';
export { loadIdxDataset, loadMnist, type LoadedMnist, type MnistSplit } from './data/load.js';
export { embeddedMnistDir, MNIST_FILES } from './data/mnist.js';
export {
  DATA_FORMATS,
  detectFormat,
  stratifiedSplit,
  type DataFormat,
  type DataInput,
  type Dataset,
  type Split,
} from './data/dataset.js';
export { DATASETS, FASHION_FILES, recogniseDataset, type NamedDataset } from './data/datasets.js';
export { checkFits, loadDataset, loadTestSet, type DataOptions, type TestSet } from './data/open.js';
export { loadFolderDataset, readImageFolder, type ImageFolder } from './data/folder.js';
export { loadCsvDataset, readCsvRows } from './data/csv-dataset.js';
export { parseCsv, standardise } from './data/csv.js';
export { runInspect, type InspectOptions, type InspectReport } from './inspect/inspect.js';
export {
  accuracyOf,
  classifyBatch,
  type BatchInputs,
  type BatchOptions,
  type BatchPredictions,
} from './infer/batch.js';
export {
  MAX_INT8_BYTES,
  quantizeModel,
  quantizeWeights,
  roundHalfAwayFromZero,
  runQuantize,
  weightError,
  type QuantizeOptions,
  type QuantizeReport,
  type QuantizedWeights,
} from './quant/quantize.js';
export {
  runCompress,
  CompressInterrupted,
  type CandidateResult,
  type CompressOptions,
  type CompressReport,
} from './compress/compress.js';
export {
  chooseThreshold,
  confidenceAt,
  confidenceTable,
  MNIST_MIN_CONFIDENCE,
  runConfidence,
  withMinConfidence,
  type ConfidenceOptions,
  type ConfidenceReport,
  type ConfidenceRow,
  type ConfidenceTable,
} from './eval/confidence.js';
export { metaMinConfidence } from './infer/confidence.js';
export { referenceProbs } from './verify/reference.js';
export {
  classifyImage,
  runPredict,
  type ImageClassification,
  type Prediction,
  type PredictOptions,
  type PredictReport,
} from './predict/predict.js';
export {
  decodeValues,
  encodeValues,
  formatFixtures,
  parseFixtures,
  readFixturesFile,
  type FixtureCase,
  type Fixtures,
} from './verify/fixtures-file.js';
export {
  chooseCases,
  makeFixtures,
  runFixtures,
  type FixturesOptions,
  type FixturesReport,
} from './verify/fixtures.js';
export {
  compareProbs,
  loadVerifyInputs,
  runCases,
  runVerify,
  type ParityReport,
  type RunCasesArgs,
  type VerifyOptions,
  type VerifyReport,
} from './verify/verify.js';
export { runVerifyBrowser, type BrowserVerifyOptions, type BrowserVerifyReport } from './verify/browser.js';
export {
  runVerifyRuntimes,
  type RuntimeRow,
  type RuntimesReport,
  type RuntimesVerifyOptions,
} from './verify/verify-runtimes.js';
export { RUNTIME_NAMES, type RuntimeName } from './verify/runtimes/runtime.js';
export { modelToOnnx, runExport, type ExportOptions, type ExportReport } from './onnx/export.js';
export { runImport, type ImportOptions, type ImportReport } from './onnx/import.js';
export { writeSite, type WebOptions, type WebReport } from './web/site.js';
export { hiddenActivations, integratedGradients, logits, saliency, type Net } from './explain/index.js';
export {
  runExplain,
  type Explanation,
  type ExplainOptions,
  type ExplainRejected,
  type ExplainReport,
} from './explain/run.js';
export {
  renderImagePanel,
  renderVectorPanel,
  type ImagePanel,
  type Method,
  type PanelClass,
  type VectorPanel,
} from './explain/panel.js';
export { startStaticServer, type StaticServer } from './node/static-server.js';

/** Read, validate and load a model file (the contract's checks; exit-3 DigitkitError naming the file). */
export async function loadModelFile(file: string): Promise<Model> {
  return (await readModelFile(file)).model;
}

/**
 * The MNIST int8 model this package ships (node_modules/digitkit/models/mnist-int8.json, the file at
 * SHIPPED_MODEL, also importable as `digitkit/models/mnist-int8.json`), read, validated and loaded:
 * what `digitkit predict` classifies with when no --model is given and the working directory has no
 * models/mnist-int8.json. Works from any directory.
 */
export async function loadShippedModel(): Promise<Model> {
  return loadModelFile(SHIPPED_MODEL);
}
