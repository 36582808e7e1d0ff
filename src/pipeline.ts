/**
 * The whole path in one call: download → train → quantize → fixtures → verify, each stage the same
 * library function its command calls. MNIST by default; a named dataset (`dataset`), or any data
 * source (`data`: an image folder or a CSV file, which need no download). Returns every stage's report
 * and its time; throws DigitkitError.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { runDownload, type DownloadReport } from './data/download.js';
import { MNIST_TEST_IMAGES } from './data/mnist.js';
import type { SourceChoice } from './data/sources.js';
import { InterruptedError, OptionError } from './errors.js';
import { DATASET_NAMES, DATASETS, modelNameFor } from './data/datasets.js';
import { detectFormat } from './data/dataset.js';
import type { DataOptions } from './data/open.js';
import {
  DEFAULT_DATA_DIR,
  DEFAULT_FIXTURES,
  DEFAULT_MODELS_DIR,
  FLOAT_MODEL_NAME,
  INT8_MODEL_NAME,
} from './node/paths.js';
import { runQuantize, type QuantizeReport } from './quant/quantize.js';
import { defaultCheckpointPath, runTrain, validateThreads, type TrainEvent, type TrainResult } from './train/run.js';
import type { StepInfo } from './train/loop.js';
import { validateConfig, type TrainConfig } from './train/config.js';
import { runFixtures, validateCount, type FixturesReport } from './verify/fixtures.js';
import { runVerify, type VerifyReport } from './verify/verify.js';
import { runCompress, type CompressHooks, type CompressReport } from './compress/compress.js';
import { budgetTag } from './compress/plan.js';

export type Stage = 'download' | 'train' | 'quantize' | 'fixtures' | 'verify' | 'compress';

export interface PipelineOptions {
  /** A named dataset to download and train on (default "mnist"). */
  dataset?: string;
  /** Its directory (default data/mnist, data/<dataset>), or another data source (no download then). */
  data?: string;
  /** How to read `data` (a folder's picture size, a CSV's label column, the test split...). */
  dataOptions?: Omit<DataOptions, 'onProgress'>;
  source?: SourceChoice;
  /** Where the float and int8 models go (default models/). */
  modelsDir?: string;
  /** Parity fixtures file (default fixtures/parity.json for MNIST, fixtures/<model name>-parity.json otherwise). */
  fixtures?: string;
  /** Training settings the user gave; the rest are train's defaults. */
  train?: Partial<TrainConfig>;
  threads?: number;
  perChannel?: boolean;
  count?: number;
  /** Continue training from this checkpoint (an interrupted pipeline), then run the later stages. */
  resume?: string;
  /**
   * Byte budgets to compress the float model into after verify (`digitkit compress` with its defaults:
   * models/mnist-<budget>.json and fixtures/mnist-<budget>.json beside the main pair, trained stages
   * kept in <models>/.compress). Default: none.
   */
  compress?: number[];
  signal?: AbortSignal;
}

export interface PipelineHooks {
  onStage?(stage: Stage, phase: 'start' | 'done', seconds?: number): void;
  onTrainEvent?(e: TrainEvent): void;
  onTrainStep?(s: StepInfo): void;
  onCompressEvent?: CompressHooks['onEvent'];
}

export interface PipelineReport {
  ok: boolean;
  seconds: Partial<Record<Stage, number>>;
  /** Absent when the data needed no download (a folder or a CSV file). */
  download?: DownloadReport;
  train: Extract<TrainResult, { status: 'done' }>;
  quantize: QuantizeReport;
  fixtures: FixturesReport;
  verify: VerifyReport;
  /** One report per --compress budget. */
  compress?: CompressReport[];
}

/** Thrown when Ctrl-C stops training: the checkpoint and the command that continues it. */
export class PipelineInterrupted extends InterruptedError {
  constructor(readonly result: Extract<TrainResult, { status: 'interrupted' }>) {
    super(
      `interrupted at epoch ${result.epoch + 1}, step ${result.stepInEpoch}/${result.stepsPerEpoch} of training; checkpoint saved to ${result.checkpoint}`,
    );
  }
}

export async function runPipeline(o: PipelineOptions = {}, hooks: PipelineHooks = {}): Promise<PipelineReport> {
  const named = DATASETS[o.dataset ?? 'mnist'];
  if (!named) throw new OptionError('dataset', `${o.dataset}: expected one of ${DATASET_NAMES.join(', ')}`);
  const data = o.data ?? (named.name === 'mnist' ? DEFAULT_DATA_DIR : named.dir);
  // A named dataset is downloaded; another source (a folder, a CSV file) is used as it is.
  const download = o.dataset !== undefined || o.data === undefined || detectFormat(data) === 'idx';
  const name = o.dataset !== undefined ? named.model : modelNameFor(data);
  const modelsDir = o.modelsDir ?? DEFAULT_MODELS_DIR;
  const mnist = name === 'mnist';
  const floatModel = path.join(modelsDir, mnist ? FLOAT_MODEL_NAME : `${name}-f32.json`);
  const intModel = path.join(modelsDir, mnist ? INT8_MODEL_NAME : `${name}-int8.json`);
  const fixtures = o.fixtures ?? (mnist ? DEFAULT_FIXTURES : `fixtures/${name}-parity.json`);
  const seconds: Partial<Record<Stage, number>> = {};
  // Every setting is checked before the first stage: a bad one must not wait for training to fail.
  validateConfig(o.train ?? {});
  validateThreads(o.threads);
  // A downloaded dataset's test split is known (10,000 images, its classes); other data is read later.
  if (o.count !== undefined)
    validateCount(o.count, download ? named.classes.length : 1, download ? MNIST_TEST_IMAGES : Infinity);

  const stage = async <T>(name: Stage, work: () => Promise<T>): Promise<T> => {
    if (o.signal?.aborted) throw o.signal.reason ?? new InterruptedError();
    hooks.onStage?.(name, 'start');
    const t0 = performance.now();
    const result = await work();
    seconds[name] = (performance.now() - t0) / 1000;
    hooks.onStage?.(name, 'done', seconds[name]);
    return result;
  };

  const downloaded = download
    ? await stage('download', () =>
        runDownload({ dataset: named.name, dir: data, source: o.source ?? 'auto', signal: o.signal }),
      )
    : undefined;
  const trained = await stage('train', () =>
    runTrain({
      data,
      dataOptions: o.dataOptions,
      out: floatModel,
      checkpoint: defaultCheckpointPath(floatModel),
      resume: o.resume,
      threads: o.threads,
      config: o.train ?? {},
      signal: o.signal,
      onEvent: hooks.onTrainEvent,
      onStep: hooks.onTrainStep,
    }),
  );
  if (trained.status === 'interrupted') throw new PipelineInterrupted(trained);
  const quantize = await stage('quantize', () =>
    runQuantize({
      in: floatModel,
      out: intModel,
      perChannel: o.perChannel,
      data,
      labelColumn: o.dataOptions?.labelColumn,
    }),
  );
  const fixtureReport = await stage('fixtures', () =>
    runFixtures({ model: intModel, out: fixtures, count: o.count, data, labelColumn: o.dataOptions?.labelColumn }),
  );
  const verify = await stage('verify', () => runVerify({ model: intModel, fixtures }));
  const budgets = o.compress ?? [];
  const compress: CompressReport[] = [];
  if (budgets.length)
    await stage('compress', async () => {
      for (const maxBytes of budgets)
        compress.push(
          await runCompress(
            {
              maxBytes,
              model: floatModel,
              data,
              out: path.join(modelsDir, `mnist-${budgetTag(maxBytes)}.json`),
              fixtures: path.join(path.dirname(fixtures), `mnist-${budgetTag(maxBytes)}.json`),
              work: path.join(modelsDir, '.compress'),
              seed: o.train?.seed,
              threads: o.threads,
              signal: o.signal,
            },
            { onEvent: hooks.onCompressEvent, onTrainEvent: hooks.onTrainEvent, onTrainStep: hooks.onTrainStep },
          ),
        );
    });
  return {
    ok: verify.ok && compress.every((c) => c.verify.ok),
    seconds,
    ...(downloaded && { download: downloaded }),
    train: trained,
    quantize,
    fixtures: fixtureReport,
    verify,
    ...(budgets.length && { compress }),
  };
}
