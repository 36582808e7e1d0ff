/**
 * `digitkit explain IMAGE... [--model M] [--class K | --top N] [--method saliency|ig] [--out DIR] [--json]`:
 * what the network sees in each image, as a PNG panel (and the numbers with --json).
 */
import type { Command } from 'commander';
import { ExitCode } from '../errors.js';
import { DEFAULT_EXPLAIN_DIR, DEFAULT_MODEL, orShipped } from '../node/paths.js';
import type { Explanation, ExplainRejected } from '../explain/run.js';
import { pct, shown } from '../format.js';
import { handler } from './context.js';
import { choiceOption, intOption, invertOption, type InvertMode } from './options.js';

interface ExplainFlags {
  model?: string;
  class?: string;
  top?: number;
  method: 'saliency' | 'ig';
  out: string;
  invert: InvertMode;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('explain')
    .description(
      'Show what the network sees in images: attribution maps, hidden activations and probabilities, as PNG panels',
    )
    .argument('<inputs...>', 'image files, directories (every image in them) or - (stdin)')
    .option('--model <path>', `model file ${orShipped(DEFAULT_MODEL)}`)
    .option('--class <k>', 'the class to explain: a label of the model, or an index into its labels')
    .option('--top <n>', 'explain the n most probable classes (default 1)', intOption)
    .option(
      '--method <m>',
      'saliency (d logit / d input, the gradient) or ig (integrated gradients from a blank input, exact)',
      choiceOption(['saliency', 'ig'] as const),
      'saliency',
    )
    .option('--out <dir>', 'directory for the panels (<name>.explain.png)', DEFAULT_EXPLAIN_DIR)
    .addOption(invertOption())
    .option(
      '--json',
      'print a JSON array: per image and class {file, class, label, probability, pixels, method, attribution, panel}, or {file, error}',
    )
    .action(
      handler<ExplainFlags>(async (opts, ctx, args) => {
        const { runExplain } = await import('../explain/run.js');
        const { readStdin } = await import('./predict.js');
        const report = await runExplain({
          inputs: args,
          model: opts.model,
          class: opts.class,
          top: opts.top,
          method: opts.method,
          out: opts.out,
          invert: opts.invert,
          readStdin,
          signal: ctx.handleInterrupt(),
        });
        const c = ctx.color;
        const done = new Set<string>();
        for (const r of report.results) {
          if ('error' in r) {
            ctx.err(c.red(`digitkit explain: ${shown(r.file)}: ${shown((r as ExplainRejected).error)}`));
            continue;
          }
          const e = r as Explanation;
          ctx.out(
            `${shown(e.file)}  class ${c.bold(shown(e.label))} ${pct(e.probability, 1).padStart(6)}  → ${shown(e.panel)}`,
          );
          done.add(e.file);
        }
        if (report.results.length > 1)
          ctx.out(
            c.dim(
              `${done.size + report.rejected} inputs: ${done.size} explained (${report.method}), ${report.rejected} rejected`,
            ),
          );
        return { json: report.results, exitCode: report.rejected > 0 ? ExitCode.imageRejected : ExitCode.ok };
      }),
    );
}
