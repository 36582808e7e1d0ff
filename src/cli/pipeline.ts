/** `digitkit pipeline`: download → train → quantize → fixtures → verify with defaults, then one summary. */
import type { Command } from 'commander';
import { ExitCode, InterruptedError } from '../errors.js';
import {
  DEFAULT_DATA_DIR,
  DEFAULT_FIXTURES,
  DEFAULT_MODELS_DIR,
  FLOAT_MODEL_NAME,
  INT8_MODEL_NAME,
} from '../node/paths.js';
import { SOURCE_CHOICES, type SourceChoice } from '../data/sources.js';
import { FAST_EPOCHS } from '../train/config.js';
import type { PipelineReport } from '../pipeline.js';
import type { DownloadReport } from '../data/download.js';
import { int, pct, sci } from '../format.js';
import { handler, type CommandContext } from './context.js';
import { fitColumns, type Column } from './columns.js';
import { DATASET_NAMES } from '../data/datasets.js';
import { addDataOptions, dataOptionsFrom, type DataFlags } from './data-options.js';
import { choiceOption, intOption } from './options.js';
import { InvalidArgumentError } from './commander.js';
import { defaultThreads, interruptedError, progressPrinter } from './train.js';

interface Flags extends DataFlags {
  dataset?: string;
  data?: string;
  source: SourceChoice;
  models: string;
  fixtures?: string;
  fast?: boolean;
  epochs?: number;
  seed?: number;
  threads?: number;
  perChannel?: boolean;
  count?: number;
  resume?: string;
  compress?: number[];
  json?: boolean;
}

/**
 * The download stage's result as the summary says it: how many files were copied from the offline copy
 * and how many downloaded from a mirror (never "fetched" for a copy), or "up to date".
 */
export function downloadResult(d: DownloadReport): string {
  const count = (status: string) => d.files.filter((f) => f.status === status).length;
  const how = [`${count('copied')} copied`, `${count('downloaded')} downloaded`].filter((s) => !s.startsWith('0 '));
  return `${d.files.length} ${d.title} files verified in ${d.dir} (${how.length ? how.join(', ') : 'up to date'})`;
}

/** "64000,40000,20000": byte budgets. */
function budgetList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  if (!parts.every((p) => /^\d+$/.test(p) && Number(p) > 0))
    throw new InvalidArgumentError(`expected comma-separated byte budgets, got "${value}"`);
  return parts.map(Number);
}

/**
 * The summary table. Each result is columns, most important first: on a narrow terminal the row keeps
 * what fits (accuracy and parity before paths and sizes); piped output keeps them all.
 */
function summary(ctx: CommandContext, r: PipelineReport): void {
  const { color } = ctx;
  const d = r.download;
  const q = r.quantize.accuracy;
  const rows: [string, number | undefined, Column[]][] = [
    ...(d
      ? [
          ['download', r.seconds.download, [{ text: downloadResult(d), rank: 0 }]] as [
            string,
            number | undefined,
            Column[],
          ],
        ]
      : []),
    [
      'train',
      r.seconds.train,
      [
        { text: `float test accuracy ${pct(r.train.testAccuracy)}`, rank: 0 },
        { text: `→ ${r.train.out}`, rank: 1 },
        { text: `(${int(r.train.bytes)} bytes)`, rank: 2 },
      ],
    ],
    [
      'quantize',
      r.seconds.quantize,
      [
        { text: `int8 test accuracy ${pct(q.quantized)}`, rank: 0 },
        { text: `(${q.deltaPp >= 0 ? '+' : ''}${q.deltaPp.toFixed(2)} pp),`, rank: 1 },
        { text: `agreement ${pct(q.agreement)}`, rank: 1 },
        { text: `→ ${r.quantize.out.path}`, rank: 2 },
        { text: `(${int(r.quantize.out.bytes)} bytes)`, rank: 3 },
      ],
    ],
    [
      'fixtures',
      r.seconds.fixtures,
      [
        { text: `${r.fixtures.cases} cases`, rank: 0 },
        { text: `→ ${r.fixtures.out.path}`, rank: 1 },
      ],
    ],
    [
      'verify',
      r.seconds.verify,
      [
        { text: `max |Δp| ${r.verify.max ? sci(r.verify.max.diff) : '-'},`, rank: 1 },
        { text: `${r.verify.correct}/${r.verify.cases} correct,`, rank: 2 },
        { text: r.verify.ok ? color.green('PARITY OK') : color.red('PARITY FAILED'), rank: 0 },
      ],
    ],
  ];
  for (const c of r.compress ?? [])
    rows.push([
      'compress',
      c === r.compress![0] ? r.seconds.compress : 0,
      [
        { text: `${int(c.budget)} B: ${c.chosen.label}`, rank: 0 },
        { text: `(${c.chosen.precision.join(', ')}),`, rank: 3 },
        { text: `test ${pct(c.chosen.testAccuracy)}`, rank: 0 },
        { text: `→ ${c.out.path}`, rank: 2 },
        { text: `(${int(c.out.bytes)} bytes),`, rank: 3 },
        { text: c.verify.ok ? color.green('PARITY OK') : color.red('PARITY FAILED'), rank: 0 },
      ],
    ]);
  ctx.out('');
  ctx.out('stage      seconds  result');
  for (const [name, s, columns] of rows) {
    const head = `${name.padEnd(9)} ${(s ?? 0).toFixed(1).padStart(8)}  `;
    ctx.out(head + fitColumns(columns, ctx.columns - head.length, ' '));
  }
  const total = Object.values(r.seconds).reduce((a, b) => a + (b ?? 0), 0);
  ctx.out(`${'total'.padEnd(9)} ${total.toFixed(1).padStart(8)}`);
}

export function register(program: Command): void {
  addDataOptions(
    program
      .command('pipeline')
      .description(
        'The whole path with defaults: download, train, quantize, fixtures, verify; one summary (MNIST, a named dataset, or your data)',
      ),
  )
    .option(
      '--dataset <name>',
      `a named dataset: ${DATASET_NAMES.join(', ')} (default mnist)`,
      choiceOption(DATASET_NAMES),
    )
    .option(
      '--data <path>',
      `the dataset's directory (default ${DEFAULT_DATA_DIR}, data/<dataset>), or your data: an image folder or a CSV file (no download)`,
    )
    .option(
      '--source <source>',
      'where download gets missing files: auto, embedded or web',
      choiceOption(SOURCE_CHOICES),
      'auto',
    )
    .option(
      '--models <dir>',
      `folder for ${FLOAT_MODEL_NAME} and ${INT8_MODEL_NAME} (<name>-f32.json and <name>-int8.json for other data)`,
      DEFAULT_MODELS_DIR,
    )
    .option(
      '--fixtures <file>',
      `parity fixtures to write and verify (default ${DEFAULT_FIXTURES}; fixtures/<name>-parity.json for other data)`,
    )
    .option('--fast', `train's quick preset (${FAST_EPOCHS} epochs)`)
    .option('--epochs <n>', "training epochs (default: train's)", intOption)
    .option('--seed <n>', "training seed (default: train's)", intOption)
    .option('--threads <n>', 'training worker threads; never changes the result', intOption)
    .option('--per-channel', 'quantize with one scale per output column')
    .option('--count <n>', 'fixture cases (default 100)', intOption)
    .option('--resume <checkpoint>', 'continue an interrupted pipeline from its training checkpoint')
    .option(
      '--compress <budgets>',
      'then compress the float model into each byte budget (e.g. 64000,40000,20000: models/mnist-64k.json ...)',
      budgetList,
    )
    .option('--json', "print one JSON document with every stage's report")
    .action(
      handler<Flags>(async (f, ctx) => {
        const signal = ctx.handleInterrupt();
        const train = progressPrinter(ctx);
        let report: PipelineReport;
        try {
          const { runPipeline } = await import('../pipeline.js');
          report = await runPipeline(
            {
              dataset: f.dataset,
              data: f.data,
              dataOptions: dataOptionsFrom(f),
              source: f.source,
              modelsDir: f.models,
              fixtures: f.fixtures,
              threads: f.threads ?? defaultThreads(),
              train: { epochs: f.epochs ?? (f.fast ? FAST_EPOCHS : undefined), seed: f.seed },
              perChannel: f.perChannel,
              count: f.count,
              resume: f.resume,
              compress: f.compress,
              signal,
            },
            {
              onStage: (stage, phase, s) =>
                ctx.out(phase === 'start' ? ctx.color.bold(`== ${stage}`) : `   ${stage} done in ${s!.toFixed(1)} s`),
              // Under --json the single document at the end is the output; no per-epoch records.
              onTrainEvent: ctx.json ? undefined : train.event,
              onTrainStep: ctx.json ? undefined : train.step,
              onCompressEvent: (e) => {
                if (e.type === 'candidate')
                  ctx.out(
                    `   ${e.result.label}: ${int(e.result.bytes)} bytes, validation ${pct(e.result.valAccuracy)}`,
                  );
              },
            },
          );
        } catch (err) {
          const { PipelineInterrupted } = await import('../pipeline.js');
          const { CompressInterrupted } = await import('../compress/compress.js');
          if (err instanceof CompressInterrupted) {
            const cmd = ['digitkit', ...process.argv.slice(process.argv.indexOf('pipeline'))].join(' ');
            throw new InterruptedError(
              `${err.message}; the float model is written: continue with ${cmd} (it trains the same float model again and reuses what compress kept)`,
            );
          }
          if (err instanceof PipelineInterrupted) throw interruptedError(err.result, 'pipeline');
          throw err;
        }
        summary(ctx, report);
        return { json: report, exitCode: report.ok ? ExitCode.ok : ExitCode.checkFailed };
      }),
    );
}
