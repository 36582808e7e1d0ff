/** `digitkit train`: flags → runTrain(); progress bar / lines / JSON records; Ctrl-C → checkpoint + resume command. */
import os from 'node:os';
import type { Command } from 'commander';
import { InvalidArgumentError } from './commander.js';
import { InterruptedError, usageError } from '../errors.js';
import { DEFAULT_DATA_DIR, DEFAULT_MODELS_DIR } from '../node/paths.js';
import { DATASET_NAMES, DATASETS, modelNameFor } from '../data/datasets.js';
import { describeDataInput, sizeOf } from '../data/dataset.js';
import { addDataOptions, dataOptionsFrom, type DataFlags } from './data-options.js';
import {
  DEFAULTS,
  DISTILL_DEFAULTS,
  FAST_EPOCHS,
  layerSizes,
  LIMITS,
  QAT_DEFAULTS,
  type QatScales,
  type TrainConfig,
} from '../train/config.js';
import type { TrainEvent } from '../train/run.js';
import type { StepInfo } from '../train/loop.js';
import { int, pct } from '../format.js';
import { handler, type CommandContext } from './context.js';
import { choiceOption, intListOption, intOption, numberOption } from './options.js';
import { createBar, type Bar } from './progress.js';

interface Flags extends DataFlags {
  data?: string;
  dataset?: string;
  out?: string;
  epochs?: number;
  batch?: number;
  lr?: number;
  schedule?: 'cosine' | 'constant';
  warmup?: number;
  labelSmoothing?: number;
  hidden?: number[];
  shift?: number;
  rotate?: number;
  zoom?: number;
  flip?: boolean;
  noise?: number;
  seed?: number;
  threads?: number;
  limit?: number;
  val?: number;
  checkpoint?: string;
  resume?: string;
  fast?: boolean;
  json?: boolean;
  teacher?: string;
  temperature?: number;
  alpha?: number;
  qat?: number[] | number;
  qatScales?: QatScales;
  perChannel?: boolean;
  init?: string;
}

/** --qat int4 | int8 | 4,8,8: one width for every layer (a single number) or one per layer (32: keep it float). */
function qatOption(value: string): number[] | number {
  const v = value.trim();
  if (v === 'int4' || v === 'int8') return Number(v.slice(3));
  const parts = v.split(',').map((s) => s.trim());
  if (!parts.every((p) => p === '4' || p === '8' || p === '32'))
    throw new InvalidArgumentError(`expected int4, int8, or one width per layer (4, 8 or 32), got "${value}"`);
  return parts.map((p) => (p === '32' ? 0 : Number(p)));
}

/** Where a run writes when --out is not given: never over the float model for a QAT or distilled run. */
function defaultOut(f: Flags, name: string): string {
  return `${DEFAULT_MODELS_DIR}/${name}-${f.qat ? 'qat' : f.teacher ? 'student' : 'f32'}.json`;
}

export const defaultThreads = () => Math.max(1, Math.min(os.availableParallelism(), 8));

/** The command line that continues this run: the same arguments, with --resume pointing at the checkpoint. */
export function resumeCommand(argv: string[], checkpoint: string, command: 'train' | 'pipeline' = 'train'): string {
  const at = argv.indexOf(command, 2);
  const args = argv.slice(at + 1);
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--resume') {
      i++;
      continue;
    }
    if (args[i].startsWith('--resume=')) continue;
    kept.push(args[i]);
  }
  kept.push('--resume', checkpoint);
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['digitkit', command, ...kept].map(quote).join(' ');
}

/** Training progress for a terminal (bar + a line per epoch) or --json (a record per epoch). Also used by pipeline. */
export function progressPrinter(ctx: CommandContext) {
  let bar: Bar | null = null;
  let epochStart = 0;
  let stepsAtStart = 0;
  let batch = 0;
  let total = 0;
  const step = (e: StepInfo) => {
    if (ctx.json) return;
    if (
      !bar &&
      (bar = createBar(
        ctx,
        `epoch {ep}/${total} {bar} {percentage}% | loss {loss} | acc {acc} | {ips} img/s | ETA {eta_formatted}`,
        e.stepsPerEpoch,
        { ep: e.epoch, loss: '-', acc: '-', ips: '-' },
      ))
    ) {
      epochStart = performance.now();
      stepsAtStart = e.stepInEpoch - 1;
    }
    if (bar) {
      const secs = (performance.now() - epochStart) / 1000;
      bar.update(e.stepInEpoch, {
        ep: e.epoch,
        loss: e.loss.toFixed(4),
        acc: pct(e.accuracy),
        ips: secs > 0 ? int(((e.stepInEpoch - stepsAtStart) * batch) / secs) : '-',
      });
    }
  };
  const event = (e: TrainEvent) => {
    switch (e.type) {
      case 'start': {
        const c = e.config;
        const d = e.data;
        batch = c.batch;
        total = c.epochs;
        const what = d.input.kind === 'vector' ? 'rows' : 'images';
        // MNIST's own run prints what it always printed; other data first says what it is.
        if (d.format !== 'idx' || d.labels.join() !== DATASETS.mnist.classes.join()) {
          const split = 'fraction' in d.split ? `${Math.round(d.split.fraction * 100)}% of each class` : d.split.from;
          ctx.out(
            `data ${d.path} (${d.format}): ${describeDataInput(d.input)}, ${d.labels.length} classes (${d.labels.slice(0, 12).join(', ')}${d.labels.length > 12 ? ', …' : ''}); test: ${int(d.testCount)} ${what} (${split})`,
          );
          if (d.skipped.length) {
            ctx.err(`digitkit train: skipped ${d.skipped.length} file${d.skipped.length === 1 ? '' : 's'}:`);
            for (const f of d.skipped.slice(0, 20)) ctx.err(`  ${f.file}: ${f.reason}`);
            if (d.skipped.length > 20) ctx.err(`  … and ${d.skipped.length - 20} more`);
          }
        }
        const sizes = [sizeOf(d.input), ...c.hidden, d.labels.length];
        ctx.out(
          `training ${sizes.join('-')} on ${int(e.trainImages)} ${what} (${int(e.valImages)} held out for validation): ${c.epochs} epoch${c.epochs === 1 ? '' : 's'} of ${e.stepsPerEpoch} steps, batch ${c.batch}, lr ${c.lr} ${c.schedule}, seed ${c.seed}, ${e.threads} thread${e.threads === 1 ? '' : 's'}`,
        );
        if (c.init) ctx.out(`starting from ${c.init.file} (sha256 ${c.init.sha256.slice(0, 12)}…)`);
        if (c.teacher)
          ctx.out(
            `distilling from ${c.teacher.file} (${c.teacher.sizes.join('-')}): temperature ${c.teacher.temperature}, alpha ${c.teacher.alpha}`,
          );
        if (c.qat)
          ctx.out(
            `quantization-aware: ${c.qat.bits.map((b) => (b ? `int${b}` : 'float32')).join(', ')}; ${c.qat.perChannel.every(Boolean) ? 'per-channel' : c.qat.perChannel.some(Boolean) ? 'per-channel/per-layer' : 'per-layer'} scales, ${c.qat.scales === 'step' ? 'recomputed every step' : 'frozen from the starting weights'}`,
          );
        if (e.resumed)
          ctx.out(`resumed at epoch ${e.resumed.epoch + 1}, step ${e.resumed.stepInEpoch}/${e.stepsPerEpoch}`);
        break;
      }
      case 'epoch': {
        bar?.stop();
        bar = null;
        if (ctx.json) {
          ctx.emit({
            type: 'epoch',
            epoch: e.epoch,
            epochs: e.epochs,
            loss: e.loss,
            trainAccuracy: e.trainAccuracy,
            valAccuracy: e.valAccuracy,
            lr: e.lr,
            seconds: e.seconds,
            imagesPerSecond: e.imagesPerSecond,
          });
        } else {
          const w = String(e.epochs).length;
          ctx.out(
            `epoch ${String(e.epoch).padStart(w)}/${e.epochs}  loss ${e.loss.toFixed(4)}  train ${pct(e.trainAccuracy)}  val ${e.valAccuracy === null ? '-' : pct(e.valAccuracy)}  lr ${e.lr.toExponential(2)}  ${e.seconds.toFixed(1)}s  ${int(e.imagesPerSecond)} img/s`,
          );
        }
        break;
      }
    }
  };
  return { step, event };
}

export function register(program: Command): void {
  const cmd = program
    .command('train')
    .description(
      `Train an MLP from scratch (default: ${layerSizes(DEFAULTS).join('-')} on MNIST; reproducible: same seed, data and flags give the same bytes)`,
    )
    .option(
      '--data <path>',
      `the data: an IDX directory, an image folder or a CSV/TSV file (default ${DEFAULT_DATA_DIR})`,
    )
    .option(
      '--dataset <name>',
      `a named dataset in its default directory: ${DATASET_NAMES.join(', ')}`,
      choiceOption(DATASET_NAMES),
    )
    .option(
      '--out <file>',
      `model to write (default ${DEFAULT_MODELS_DIR}/<data name>-f32.json: mnist-f32.json for MNIST; <data name>-qat.json with --qat, <data name>-student.json with --teacher)`,
    );
  addDataOptions(cmd)
    .option('--epochs <n>', `epochs (default ${DEFAULTS.epochs}; ${FAST_EPOCHS} with --fast)`, intOption)
    .option('--fast', `quick preset: ${FAST_EPOCHS} epochs (≥ 98.5% test accuracy)`)
    .option('--batch <n>', `mini-batch size, at most ${LIMITS.batch} (default ${DEFAULTS.batch})`, intOption)
    .option('--lr <rate>', `peak learning rate (default ${DEFAULTS.lr})`, numberOption)
    .option(
      '--schedule <name>',
      `cosine | constant (default ${DEFAULTS.schedule}; constant for runs under 3 epochs)`,
      choiceOption(['cosine', 'constant'] as const),
    )
    .option(
      '--warmup <epochs>',
      'linear warm-up, in epochs (default 1 for cosine, or a tenth of a shorter run; 0 for constant)',
      numberOption,
    )
    .option('--label-smoothing <s>', `label smoothing in [0, 1) (default ${DEFAULTS.labelSmoothing})`, numberOption)
    .option('--hidden <widths>', `hidden layer widths (default ${DEFAULTS.hidden.join(',')})`, intListOption)
    .option('--shift <px>', `images: random shift in [-px, px] on each axis (default ${DEFAULTS.shift})`, intOption)
    .option(
      '--rotate <deg>',
      `images: random rotation in [-deg, deg] (default ${DEFAULTS.rotate} for digits, 0 for other images)`,
      numberOption,
    )
    .option(
      '--zoom <fraction>',
      `images: random zoom in [1-f, 1+f] (default ${DEFAULTS.zoom} for digits, 0 for other images)`,
      numberOption,
    )
    .option('--flip', 'images: mirror half of the training images horizontally, drawn afresh each epoch')
    .option('--no-flip', "images: no mirroring (when a dataset's recipe has it)")
    .option(
      '--noise <sigma>',
      'feature vectors: add Gaussian noise of this standard deviation to the standardised features',
      numberOption,
    )
    .option('--seed <n>', `PRNG seed (default ${DEFAULTS.seed})`, intOption)
    .option('--threads <n>', 'worker threads (default: cores, at most 8); never changes the result', intOption)
    .option('--limit <n>', 'train on the first n training samples (default all)', intOption)
    .option('--val <k>', 'hold out the last k of them for validation (default 5000, or 1/12 of --limit)', intOption)
    .option('--checkpoint <file>', 'checkpoint written after every epoch (default: beside --out, .ckpt)')
    .option('--resume <file>', 'continue from a checkpoint (its settings apply; contradicting flags are an error)')
    .option(
      '--teacher <file>',
      'distill from this model: its softened outputs on each augmented image, plus the labels',
    )
    .option(
      '--temperature <t>',
      `with --teacher: softmax temperature of both outputs (default ${DISTILL_DEFAULTS.temperature})`,
      numberOption,
    )
    .option(
      '--alpha <a>',
      `with --teacher: weight of the teacher's outputs, 1 - a of the labels (default ${DISTILL_DEFAULTS.alpha})`,
      numberOption,
    )
    .option(
      '--qat <widths>',
      'quantization-aware training: int4, int8, or one width per layer (4, 8, 32 = float), e.g. 4,8,8; writes the quantized model',
      qatOption,
    )
    .option(
      '--qat-scales <mode>',
      `with --qat: scales recomputed every step, or frozen from the starting weights (default ${QAT_DEFAULTS.scales})`,
      choiceOption(['step', 'frozen'] as const),
    )
    .option('--per-channel', 'with --qat: one scale per output column instead of one per layer')
    .option(
      '--init <file>',
      'start from this model (e.g. the float model, for --qat fine-tuning); --hidden must match it',
    )
    .option('--json', 'one JSON record per epoch on stdout, then a summary record')
    .action(
      handler<Flags>(async (f, ctx) => {
        if (f.data !== undefined && f.dataset !== undefined) throw usageError('--data and --dataset: give one of them');
        const data = f.data ?? (f.dataset ? DATASETS[f.dataset].dir : DEFAULT_DATA_DIR);
        const out = f.out ?? defaultOut(f, modelNameFor(data));
        const config: Partial<TrainConfig> = {
          epochs: f.epochs ?? (f.fast ? FAST_EPOCHS : undefined),
          batch: f.batch,
          lr: f.lr,
          schedule: f.schedule,
          warmup: f.warmup,
          labelSmoothing: f.labelSmoothing,
          hidden: f.hidden,
          shift: f.shift,
          rotate: f.rotate,
          zoom: f.zoom,
          flip: f.flip,
          noise: f.noise,
          seed: f.seed,
          limit: f.limit,
          val: f.val,
        };
        if ((f.temperature !== undefined || f.alpha !== undefined) && !f.teacher)
          throw usageError('--temperature and --alpha apply with --teacher');
        if ((f.qatScales || f.perChannel) && !f.qat)
          throw usageError('--qat-scales and --per-channel apply with --qat');
        const signal = ctx.handleInterrupt();
        const progress = progressPrinter(ctx);
        const { runTrain } = await import('../train/run.js');
        let bar: Bar | null = null;
        const r = await runTrain({
          data,
          dataOptions: dataOptionsFrom(f),
          onDataProgress: (done, total) => {
            if (total < 200) return;
            bar ??= createBar(ctx, 'reading pictures [{bar}] {value}/{total}', total);
            bar?.update(done);
            if (done === total) bar?.stop();
          },
          out,
          checkpoint: f.checkpoint,
          teacher: f.teacher ? { file: f.teacher, temperature: f.temperature, alpha: f.alpha } : undefined,
          init: f.init,
          qat: f.qat !== undefined ? { bits: f.qat, perChannel: f.perChannel, scales: f.qatScales } : undefined,
          resume: f.resume,
          threads: f.threads ?? defaultThreads(),
          config,
          signal,
          onEvent: progress.event,
          onStep: progress.step,
        });
        if (r.status === 'interrupted') {
          const cmd = resumeCommand(process.argv, r.checkpoint);
          throw new InterruptedError(
            `interrupted at epoch ${r.epoch + 1}, step ${r.stepInEpoch}/${r.stepsPerEpoch}; checkpoint saved to ${r.checkpoint}; resume with: ${cmd}`,
            { checkpoint: r.checkpoint, resume: cmd },
          );
        }
        ctx.out(
          `test accuracy ${pct(r.testAccuracy)}${r.valAccuracy === null ? '' : ` (validation ${pct(r.valAccuracy)})`}; wrote ${r.out} (${int(r.bytes)} bytes, sha256 ${r.sha256.slice(0, 16)}…); checkpoint ${r.checkpoint}`,
        );
        // Under --json: the last record, after the epochs' (JSON Lines, even when no epoch was left to run).
        ctx.emit({
          type: 'summary',
          out: r.out,
          bytes: r.bytes,
          sha256: r.sha256,
          checkpoint: r.checkpoint,
          config: r.config,
          valAccuracy: r.valAccuracy,
          testAccuracy: r.testAccuracy,
          seconds: r.seconds,
          imagesPerSecond: r.imagesPerSecond,
        });
      }),
    );
}
