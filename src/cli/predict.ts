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
import { intOption, invertOption, numberOption, type InvertMode } from './options.js';

interface PredictFlags {
  model?: string;
  top?: number;
  minConfidence?: number;
  allowUnsure?: boolean;
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
const labelOf = (x: { label: string | null }) => shown(x.label ?? '');

/**
 * predict's --json names the class `label` (a string) and `index` for every model, as the library does;
 * for a model whose classes are the digits 0-9 (MNIST's) each result and top entry also keeps `digit`, a
 * number, the field it has always had.
 */
function jsonOf(r: Prediction, digits: boolean): object {
  if (!digits) return r;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(r)) {
    if (k === 'label') out.digit = r.index;
    if (k === 'top') out.top = r.top.map((t) => ({ digit: t.index, ...t }));
    else out[k] = v;
  }
  return out;
}

function printResults(ctx: CommandContext, results: Prediction[], minConfidence?: number): void {
  const c = ctx.color;
  const width = Math.max(...results.map((r) => where(r).length));
  const labelWidth = Math.max(1, ...results.map((r) => labelOf(r).length));
  const topOf = (r: Prediction) =>
    c.dim('top: ' + r.top.map((t) => `${labelOf(t)} ${pct(t.p, 1).padStart(6)}`).join('  '));
  for (const r of results) {
    if (r.error !== undefined) {
      ctx.err(c.red(`digitkit predict: ${shown(r.file)}: ${shown(r.error)}`));
      continue;
    }
    if (r.unsure) continue;
    const p = r.probability!;
    const shade = p >= 0.9 ? c.green : p >= 0.6 ? c.yellow : c.red;
    ctx.out(
      `${where(r).padEnd(width)}  ${c.bold(labelOf(r).padEnd(labelWidth))}  ${shade(pct(p, 1).padStart(6))}   ${topOf(r)}`,
    );
  }
  // Below the threshold: listed apart, as "not sure" with the best guess, never as an answer.
  const unsure = results.filter((r) => r.unsure);
  if (unsure.length === 0) return;
  ctx.out(c.yellow(`not sure (top probability below ${pct(minConfidence!, 1)}):`));
  for (const r of unsure)
    ctx.out(
      `${where(r).padEnd(width)}  ${c.yellow('not sure')}  best guess ${labelOf(r)} ${pct(r.probability!, 1)}   ${topOf(r)}`,
    );
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
    .option(
      '--min-confidence <p>',
      'a result whose top probability is below P (in (0, 1]) is "not sure": listed apart, exit 5 (default: the model\'s meta.minConfidence if it has one, else none)',
      numberOption,
    )
    .option('--allow-unsure', 'exit 0 when results are "not sure" (they are still listed apart)')
    .addOption(invertOption())
    .option(
      '--save-preprocessed <dir>',
      "write the input the model saw, as <name>.<W>x<H>.png per file (28x28 for MNIST's model)",
    )
    .option(
      '--json',
      "print a JSON array of {file, label, index, probability, top, error?} (a 0-9 digit model also keeps digit = index; CSV rows: line too; with a threshold: unsure, minConfidence; a directory's non-image files: {file, skipped})",
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
          minConfidence: opts.minConfidence,
          invert: opts.invert,
          savePreprocessed: opts.savePreprocessed,
          readStdin,
          signal: ctx.handleInterrupt(),
          onProgress: (done, total) => {
            if (total < 100) return;
            bar ??= createBar(ctx, 'predict [{bar}] {value}/{total} images', total);
            bar?.update(done);
          },
        }).finally(() => bar?.stop());
        const { results, rejected, unsure } = report;
        printResults(ctx, results, report.minConfidence);
        // The package's own model, used because the working directory has none: say so (in --json, on every result).
        const shipped = opts.model === undefined && isShipped(report.model);
        if (shipped) ctx.out(ctx.color.dim(`model: ${shippedLine([report.model])}`));
        const rows = results.some((r) => r.line !== undefined);
        // The "not sure" count appears only when a threshold applies: output without one is as it always was.
        const sure = report.minConfidence === undefined ? '' : `, ${unsure} not sure`;
        if (results.length > 1)
          ctx.out(
            ctx.color.dim(
              rows
                ? report.minConfidence === undefined
                  ? `${results.length} rows classified`
                  : `${results.length} rows: ${results.length - unsure} classified${sure}`
                : `${results.length} inputs: ${results.length - rejected - unsure} classified${sure}, ${rejected} rejected`,
            ),
          );
        if (unsure > 0 && !opts.allowUnsure)
          ctx.err(
            `digitkit predict: ${unsure} ${unsure === 1 ? 'result' : 'results'} not sure (top probability below ${pct(report.minConfidence!, 1)}): exit 5 (--allow-unsure accepts them)`,
          );
        // A directory's other files are not silently ignored: counted (and named), in --json as records too.
        const skipped = report.skipped ?? [];
        if (skipped.length > 0) {
          const names = skipped.slice(0, 5).map(shown).join(', ') + (skipped.length > 5 ? ', …' : '');
          ctx.out(
            ctx.color.dim(`${skipped.length} non-image ${skipped.length === 1 ? 'file' : 'files'} skipped: ${names}`),
          );
        }
        if (opts.savePreprocessed && results.length > rejected)
          ctx.out(ctx.color.dim(`${report.inputSize ?? '28x28'} inputs written to ${opts.savePreprocessed}`));
        // The ten digits in order (MNIST's classes), as predict/classify.ts's digitLabels (not imported: start-up cost).
        const digits = report.labels?.length === 10 && report.labels.every((l, i) => l === String(i));
        return {
          json: [
            ...results.map((r) => {
              const j = jsonOf(r, digits);
              return shipped ? { ...j, model: report.model } : j;
            }),
            ...skipped.map((file) => ({ file, skipped: 'not an image file (by its extension)' })),
          ],
          exitCode: rejected > 0 || (unsure > 0 && !opts.allowUnsure) ? ExitCode.imageRejected : ExitCode.ok,
        };
      }),
    );
}
