/**
 * `digitkit predict <file|directory|->...`: classify image files through the shipped core.
 * The library (and sharp with it) is loaded only when the command runs, so other commands start fast.
 */
import type { Command } from 'commander';
import { DigitkitError, ExitCode } from '../errors.js';
import type { Prediction } from '../predict/predict.js';
import { DEFAULT_MODEL, isShipped, orShipped, shippedLine } from '../node/paths.js';
import { pct } from '../format.js';
import { handler, type CommandContext } from './context.js';
import { choiceOption, intOption } from './options.js';

interface PredictFlags {
  model?: string;
  top: number;
  invert: 'auto' | 'yes' | 'no';
  savePreprocessed?: string;
  json?: boolean;
}

export async function readStdin(): Promise<Buffer> {
  if (process.stdin.isTTY)
    throw new DigitkitError(
      ExitCode.usage,
      '`-` reads an image from standard input, but it is a terminal (pipe a file in: `digitkit predict - < digit.png`)',
    );
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function printResults(ctx: CommandContext, results: Prediction[]): void {
  const c = ctx.color;
  const width = Math.max(...results.map((r) => r.file.length));
  for (const r of results) {
    if (r.error !== undefined) {
      ctx.err(c.red(`digitkit predict: ${r.file}: ${r.error}`));
      continue;
    }
    const p = r.probability!;
    const shade = p >= 0.9 ? c.green : p >= 0.6 ? c.yellow : c.red;
    const top = r.top.map((t) => `${t.digit} ${pct(t.p, 1).padStart(6)}`).join('  ');
    ctx.out(
      `${r.file.padEnd(width)}  ${c.bold(String(r.digit))}  ${shade(pct(p, 1).padStart(6))}   ${c.dim('top: ' + top)}`,
    );
  }
}

export function register(program: Command): void {
  program
    .command('predict')
    .description('Classify image files through the shipped core')
    .argument('<inputs...>', 'image files, directories (every image in them) or - (stdin)')
    .option('--model <path>', `model file ${orShipped(DEFAULT_MODEL)}`)
    .option('--top <k>', 'how many classes to list per image', intOption, 3)
    .option(
      '--invert <mode>',
      'polarity: auto (from the border), yes (dark ink on light), no (light ink on dark)',
      choiceOption(['auto', 'yes', 'no'] as const),
      'auto',
    )
    .option('--save-preprocessed <dir>', 'write the 28x28 input the model saw, as <name>.28x28.png per file')
    .option('--json', 'print a JSON array of {file, digit, probability, top, error?}')
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
            if (total < 100) return;
            bar ??= createBar(ctx, 'predict [{bar}] {value}/{total} images', total);
            bar?.update(done);
          },
        }).finally(() => bar?.stop());
        const { results, rejected } = report;
        printResults(ctx, results);
        // The package's own model, used because the working directory has none: say so (in --json, on every result).
        const shipped = isShipped(report.model);
        if (shipped) ctx.out(ctx.color.dim(`model: ${shippedLine([report.model])}`));
        if (results.length > 1)
          ctx.out(
            ctx.color.dim(`${results.length} inputs: ${results.length - rejected} classified, ${rejected} rejected`),
          );
        if (opts.savePreprocessed && results.length > rejected)
          ctx.out(ctx.color.dim(`28x28 inputs written to ${opts.savePreprocessed}`));
        return {
          json: shipped ? results.map((r) => ({ ...r, model: report.model })) : results,
          exitCode: rejected > 0 ? ExitCode.imageRejected : ExitCode.ok,
        };
      }),
    );
}
