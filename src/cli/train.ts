/** `digitkit train`: flags → runTrain(); progress bar / lines / JSON records; Ctrl-C → checkpoint + resume command. */
import os from 'node:os';
import type { Command } from 'commander';
import { InterruptedError, usageError } from '../errors.js';
import { DEFAULT_DATA_DIR } from '../node/paths.js';
import { DATASET_NAMES, DATASETS, modelNameFor } from '../data/datasets.js';
import { describeDataInput, sizeOf } from '../data/dataset.js';
import { addDataOptions, dataOptionsFrom, type DataFlags } from './data-options.js';
import { DEFAULTS, FAST_EPOCHS, layerSizes, LIMITS, type TrainConfig } from '../train/config.js';
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
      'float32 model to write (default models/<data name>-f32.json: models/mnist-f32.json for MNIST)',
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
    .option('--json', 'one JSON record per epoch on stdout, then a summary record')
    .action(
      handler<Flags>(async (f, ctx) => {
        if (f.data !== undefined && f.dataset !== undefined) throw usageError('--data and --dataset: give one of them');
        const data = f.data ?? (f.dataset ? DATASETS[f.dataset].dir : DEFAULT_DATA_DIR);
        const out = f.out ?? `models/${modelNameFor(data)}-f32.json`;
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
