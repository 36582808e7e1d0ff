/**
 * The whole path in one call: download → train → quantize → fixtures → verify, each stage the same
 * library function its command calls. Returns every stage's report and its time; throws DigitkitError.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { runDownload, type DownloadReport } from './data/download.js';
import { MNIST_TEST_IMAGES } from './data/mnist.js';
import type { SourceChoice } from './data/sources.js';
import { InterruptedError } from './errors.js';
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
import { CLASSES, validateConfig, type TrainConfig } from './train/config.js';
import { runFixtures, validateCount, type FixturesReport } from './verify/fixtures.js';
import { runVerify, type VerifyReport } from './verify/verify.js';

export type Stage = 'download' | 'train' | 'quantize' | 'fixtures' | 'verify';

export interface PipelineOptions {
  /** MNIST directory (default data/mnist). */
  data?: string;
  source?: SourceChoice;
  /** Where the float and int8 models go (default models/). */
  modelsDir?: string;
  /** Parity fixtures file (default fixtures/parity.json). */
  fixtures?: string;
  /** Training settings the user gave; the rest are train's defaults. */
  train?: Partial<TrainConfig>;
  threads?: number;
  perChannel?: boolean;
  count?: number;
  /** Continue training from this checkpoint (an interrupted pipeline), then run the later stages. */
  resume?: string;
  signal?: AbortSignal;
}

export interface PipelineHooks {
  onStage?(stage: Stage, phase: 'start' | 'done', seconds?: number): void;
  onTrainEvent?(e: TrainEvent): void;
  onTrainStep?(s: StepInfo): void;
}

export interface PipelineReport {
  ok: boolean;
  seconds: Record<Stage, number>;
  download: DownloadReport;
  train: Extract<TrainResult, { status: 'done' }>;
  quantize: QuantizeReport;
  fixtures: FixturesReport;
  verify: VerifyReport;
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
  const data = o.data ?? DEFAULT_DATA_DIR;
  const modelsDir = o.modelsDir ?? DEFAULT_MODELS_DIR;
  const floatModel = path.join(modelsDir, FLOAT_MODEL_NAME);
  const intModel = path.join(modelsDir, INT8_MODEL_NAME);
  const fixtures = o.fixtures ?? DEFAULT_FIXTURES;
  const seconds = {} as Record<Stage, number>;
  // Every setting is checked before the first stage: a bad one must not wait for training to fail.
  validateConfig(o.train ?? {});
  validateThreads(o.threads);
  if (o.count !== undefined) validateCount(o.count, CLASSES, MNIST_TEST_IMAGES);

  const stage = async <T>(name: Stage, work: () => Promise<T>): Promise<T> => {
    if (o.signal?.aborted) throw o.signal.reason ?? new InterruptedError();
    hooks.onStage?.(name, 'start');
    const t0 = performance.now();
    const result = await work();
    seconds[name] = (performance.now() - t0) / 1000;
    hooks.onStage?.(name, 'done', seconds[name]);
    return result;
  };

  const download = await stage('download', () =>
    runDownload({ dir: data, source: o.source ?? 'auto', signal: o.signal }),
  );
  const trained = await stage('train', () =>
    runTrain({
      data,
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
    runQuantize({ in: floatModel, out: intModel, perChannel: o.perChannel, data }),
  );
  const fixtureReport = await stage('fixtures', () =>
    runFixtures({ model: intModel, out: fixtures, count: o.count, data }),
  );
  const verify = await stage('verify', () => runVerify({ model: intModel, fixtures }));
  return { ok: verify.ok, seconds, download, train: trained, quantize, fixtures: fixtureReport, verify };
}
