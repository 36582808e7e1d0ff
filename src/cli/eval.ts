/** `digitkit eval`: test-set accuracy, per-class precision/recall, confusion matrix, PNG reports, model comparison. */
import type { Command } from 'commander';
import { DEFAULT_DATA_DIR, DEFAULT_MODEL, isShipped, orShipped, shippedLine } from '../node/paths.js';
import { addModelDataOptions } from './data-options.js';
import { handler } from './context.js';
import type { DataFormat } from '../data/dataset.js';
import { createBar, type Bar } from './progress.js';
import { numberOption } from './options.js';
import { usageError } from '../errors.js';

interface EvalFlags {
  model?: string;
  data: string;
  format?: DataFormat;
  labelColumn?: string;
  report?: string;
  compare?: string;
  confidence?: boolean;
  maxRefused?: number;
  out?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description('Test-set accuracy, per-class precision/recall and confusion matrix; PNG reports; compare two models')
    .option('--model <file>', `model to evaluate ${orShipped(DEFAULT_MODEL)}`)
    .option(
      '--data <path>',
      'test data: an IDX directory (its t10k files), an image folder or a CSV file (the test split the model was trained with, if it is that data; else all of it)',
      DEFAULT_DATA_DIR,
    );
  addModelDataOptions(cmd)
    .option(
      '--report <dir>',
      'write confusion.png, errors.png, errors-explained.png, curves.png (if the model has a training history), report.json',
    )
    .option('--compare <file>', 'a second model: both accuracies, agreement, and the digits where they disagree')
    .option(
      '--confidence',
      "choose a confidence threshold on the validation split (the training images train held out; IDX data): a table of candidates (share refused, errors avoided), the rule's choice, and its effect on the test set",
    )
    .option(
      '--max-refused <share>',
      'with --confidence: the rule takes the largest threshold refusing at most this share of validation samples (default 0.01)',
      numberOption,
    )
    .option(
      '--out <file>',
      'with --confidence: write a copy of the model carrying the chosen threshold as meta.minConfidence (overwritten if it exists; never the model itself)',
    )
    .option('--json', 'print one JSON document (the same numbers as report.json)')
    .action(
      handler<EvalFlags>(async (opts, ctx) => {
        let bar: Bar | null = null;
        let current = '';
        if (!opts.confidence && (opts.maxRefused !== undefined || opts.out !== undefined))
          throw usageError(`${opts.out !== undefined ? '--out' : '--max-refused'} goes with --confidence`);
        if (opts.confidence) {
          if (opts.report !== undefined || opts.compare !== undefined)
            throw usageError(
              `--confidence cannot be combined with ${opts.report !== undefined ? '--report' : '--compare'}`,
            );
          const { runConfidence, formatConfidenceText } = await import('../eval/confidence.js');
          const rep = await runConfidence({
            model: opts.model,
            data: opts.data,
            maxRefused: opts.maxRefused,
            out: opts.out,
            onProgress: (split, done, total) => {
              if (split !== current) {
                bar?.stop();
                current = split;
                bar = createBar(ctx, '{model} [{bar}] {value}/{total}', total, { model: split });
              }
              bar?.update(done);
            },
          }).finally(() => (bar as Bar | null)?.stop());
          for (const line of formatConfidenceText(rep)) ctx.out(line);
          return { json: rep };
        }
        // Loaded here, not at start-up: the report code pulls in sharp, which every other command would pay for.
        const { runEval } = await import('../eval/evaluate.js');
        const { formatEvalText } = await import('../eval/text-report.js');
        const rep = await runEval({
          model: opts.model,
          data: opts.data,
          format: opts.format,
          labelColumn: opts.labelColumn,
          report: opts.report,
          compare: opts.compare,
          onProgress: (model, done, total) => {
            if (model !== current) {
              bar?.stop();
              current = model;
              bar = createBar(ctx, 'evaluating {model} [{bar}] {value}/{total}', total, { model });
            }
            bar?.update(done);
          },
        });
        (bar as Bar | null)?.stop();
        for (const w of rep.warnings) ctx.err(ctx.color.yellow(`digitkit eval: ${w}`));
        for (const line of formatEvalText(rep, ctx.color)) ctx.out(line);
        // The package's own model, used because the working directory has none: said in text and --json.
        const shipped = opts.model === undefined ? [rep.model.path].filter(isShipped) : [];
        if (shipped.length) ctx.out(ctx.color.dim(`shipped    ${shippedLine(shipped)}`));
        return { json: shipped.length ? { ...rep, shipped } : rep };
      }),
    );
}
