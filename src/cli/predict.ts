/**
 * `digitkit predict <file|directory|->...`: classify image files through the shipped core.
 * The library (and sharp with it) is loaded only when the command runs, so other commands start fast.
 */
import type { Command } from 'commander';
import { DigitkitError, ExitCode } from '../errors.js';
import type { Prediction } from '../predict/predict.js';
import { DEFAULT_MODEL, isShipped, orShipped, shippedLine } from '../node/paths.js';
import { pct, shown } from '../format.js';
import { handler, type CommandContext } from './context.js';
import { fullOptimization } from './jit.js';
import { intOption, invertOption, type InvertMode } from './options.js';

interface PredictFlags {
  model?: string;
  top?: number;
  invert: InvertMode;
  savePreprocessed?: string;
  json?: boolean;
}

/** One image from standard input, refused (exit 5) once it passes the size limit for image files. */
export async function readStdin(): Promise<Buffer> {
  if (process.stdin.isTTY)
    throw new DigitkitError(
      ExitCode.usage,
      '`-` reads an image from standard input, but it is a terminal (pipe a file in: `digitkit predict - < digit.png`)',
    );
  const { stdinTooLarge, MAX_IMAGE_FILE_BYTES } = await import('../predict/jobs.js');
  const chunks: Buffer[] = [];
  let size = 0;
  // Leaving the loop early destroys the stream: nothing more is read.
  for await (const c of process.stdin) {
    size += (c as Buffer).length;
    if (size > MAX_IMAGE_FILE_BYTES) throw stdinTooLarge();
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * A result's name: the file, or for a CSV row the file and its line. Names come from directories and
 * labels from model files: shown() so none reaches the terminal as escapes or newlines.
 */
const where = (r: Prediction) => shown(r.line === undefined ? r.file : `${r.file}:${r.line}`);
const labelOf = (x: { digit?: number | null; label?: string | null }) => shown(String(x.digit ?? x.label ?? ''));

function printResults(ctx: CommandContext, results: Prediction[]): void {
  const c = ctx.color;
  const width = Math.max(...results.map((r) => where(r).length));
  const labelWidth = Math.max(1, ...results.map((r) => labelOf(r).length));
  for (const r of results) {
    if (r.error !== undefined) {
      ctx.err(c.red(`digitkit predict: ${shown(r.file)}: ${shown(r.error)}`));
      continue;
    }
    const p = r.probability!;
    const shade = p >= 0.9 ? c.green : p >= 0.6 ? c.yellow : c.red;
    const top = r.top.map((t) => `${labelOf(t)} ${pct(t.p, 1).padStart(6)}`).join('  ');
    ctx.out(
      `${where(r).padEnd(width)}  ${c.bold(labelOf(r).padEnd(labelWidth))}  ${shade(pct(p, 1).padStart(6))}   ${c.dim('top: ' + top)}`,
    );
  }
}

export function register(program: Command): void {
  program
    .command('predict')
    .description('Classify image files (or, for a vector model, the rows of CSV files) through the shipped core')
    .argument(
      '<inputs...>',
      'image files, directories (every image in them) or - (stdin); for a vector model: CSV files (one result per row)',
    )
    .option('--model <path>', `model file ${orShipped(DEFAULT_MODEL)}`)
    .option('--top <k>', 'how many classes to list per image (default 3, or all when the model has fewer)', intOption)
    .addOption(invertOption())
    .option(
      '--save-preprocessed <dir>',
      "write the input the model saw, as <name>.<W>x<H>.png per file (28x28 for MNIST's model)",
    )
    .option(
      '--json',
      'print a JSON array of {file, digit, probability, top, error?} (models of other classes: label and index for digit; CSV rows: line too)',
    )
    .action(
      handler<PredictFlags>(async (opts, ctx, args) => {
        const [{ runPredict }, { createBar }] = await Promise.all([
          import('../predict/predict.js'),
          import('./progress.js'),
        ]);
        let bar: ReturnType<typeof createBar> | undefined;
        const report = await runPredict({
          inputs: args,
          model: opts.model,
          top: opts.top,
          invert: opts.invert,
          savePreprocessed: opts.savePreprocessed,
          readStdin,
          signal: ctx.handleInterrupt(),
          onProgress: (done, total) => {
            // More than one input: the optimizing compiler pays for itself (see jit.ts).
            if (total > 1) fullOptimization();
            if (total < 100) return;
            bar ??= createBar(ctx, 'predict [{bar}] {value}/{total} images', total);
            bar?.update(done);
          },
        }).finally(() => bar?.stop());
        const { results, rejected } = report;
        printResults(ctx, results);
        // The package's own model, used because the working directory has none: say so (in --json, on every result).
        const shipped = opts.model === undefined && isShipped(report.model);
        if (shipped) ctx.out(ctx.color.dim(`model: ${shippedLine([report.model])}`));
        const rows = results.some((r) => r.line !== undefined);
        if (results.length > 1)
          ctx.out(
            ctx.color.dim(
              rows
                ? `${results.length} rows classified`
                : `${results.length} inputs: ${results.length - rejected} classified, ${rejected} rejected`,
            ),
          );
        if (opts.savePreprocessed && results.length > rejected)
          ctx.out(ctx.color.dim(`${report.inputSize ?? '28x28'} inputs written to ${opts.savePreprocessed}`));
        return {
          json: shipped ? results.map((r) => ({ ...r, model: report.model })) : results,
          exitCode: rejected > 0 ? ExitCode.imageRejected : ExitCode.ok,
        };
      }),
    );
}
