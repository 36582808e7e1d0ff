/** `digitkit compress --max-bytes N`: the frontier table, progress as for train, Ctrl-C keeps finished work. */
import type { Command } from 'commander';
import { ExitCode, InterruptedError } from '../errors.js';
import { int, pct } from '../format.js';
import type { CompressReport } from '../compress/compress.js';
import { DEFAULT_DATA_DIR, DEFAULT_FLOAT_MODEL } from '../node/paths.js';
import { handler } from './context.js';
import { intOption } from './options.js';
import { defaultThreads, progressPrinter } from './train.js';

interface Opts {
  maxBytes: number;
  model: string;
  data: string;
  out?: string;
  fixtures?: string;
  report?: string;
  work?: string;
  seed?: number;
  threads?: number;
  epochs?: number;
  qatEpochs?: number;
  json?: boolean;
}

/** The frontier as a table: every candidate that fits, best first; test accuracy only for the chosen one. */
export function frontierTable(r: CompressReport): string[] {
  const rows = [...r.candidates].sort((a, b) => b.valAccuracy - a.valAccuracy || a.bytes - b.bytes);
  const head = ['', 'candidate', 'layers', 'bytes', 'validation', 'test', 'agreement', 'µs/image'];
  const body = rows.map((c) => {
    const chosen = c.id === r.chosen.id;
    return [
      chosen ? '*' : '',
      c.label,
      c.precision.join(', '),
      int(chosen ? r.out.bytes : c.bytes),
      pct(c.valAccuracy),
      chosen ? pct(r.chosen.testAccuracy) : '-',
      pct(c.agreement),
      c.latencyUs.toFixed(1),
    ];
  });
  body.push([
    '',
    `${r.model.path} (given)`,
    r.model.sizes.join('-'),
    int(r.model.bytes),
    pct(r.model.valAccuracy),
    '-',
    '100.00%',
    '',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const right = new Set([3, 4, 5, 6, 7]);
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(w[i]) : c.padEnd(w[i])))
      .join('  ')
      .trimEnd();
  return [line(head), ...body.map(line)];
}

export function register(program: Command): void {
  program
    .command('compress')
    .description(
      'Find the most accurate model that fits a byte budget: precision assignments, quantization-aware training, distilled students',
    )
    .requiredOption('--max-bytes <n>', 'the largest model file to write, in bytes', intOption)
    .option('--model <file>', 'float model to compress and to distil students from', DEFAULT_FLOAT_MODEL)
    .option('--data <dir>', 'MNIST directory', DEFAULT_DATA_DIR)
    .option('--out <file>', 'model to write (default models/mnist-<budget>.json, e.g. mnist-64k.json)')
    .option('--fixtures <file>', 'parity fixtures to write (default fixtures/mnist-<budget>.json)')
    .option('--report <dir>', 'write frontier.png and report.json there')
    .option('--work <dir>', 'where trained candidates are kept and resumed from (default models/.compress)')
    .option('--seed <n>', 'PRNG seed of every training (default 1)', intOption)
    .option('--threads <n>', 'worker threads (default: cores, at most 8); never changes the result', intOption)
    .option('--epochs <n>', "epochs of a student's distillation (default 150)", intOption)
    .option('--qat-epochs <n>', 'epochs of quantization-aware fine-tuning (default 40)', intOption)
    .option('--json', 'print one JSON document (no progress)')
    .action(
      handler<Opts>(async (f, ctx) => {
        const signal = ctx.handleInterrupt();
        const progress = progressPrinter(ctx);
        const { runCompress, CompressInterrupted } = await import('../compress/compress.js');
        let r: CompressReport;
        try {
          r = await runCompress(
            {
              maxBytes: f.maxBytes,
              model: f.model,
              data: f.data,
              out: f.out,
              fixtures: f.fixtures,
              work: f.work,
              seed: f.seed,
              threads: f.threads ?? defaultThreads(),
              epochs: f.epochs,
              qatEpochs: f.qatEpochs,
              signal,
            },
            {
              // Under --json stdout carries one document: no progress records.
              onTrainEvent: ctx.json ? undefined : progress.event,
              onTrainStep: ctx.json ? undefined : progress.step,
              onEvent: (e) => {
                if (e.type === 'plan')
                  ctx.out(
                    `compress ${f.model} into ${int(e.budget)} bytes: ${e.candidates.length} candidate${e.candidates.length === 1 ? '' : 's'} (${e.candidates.map((c) => c.label).join('; ')}); work in ${e.work}`,
                  );
                else if (e.type === 'stage')
                  ctx.out(
                    `${e.label}: ${e.stage}${e.detail ? ` ${e.detail}` : ''}${e.cached ? ' (kept from an earlier run)' : ''}`,
                  );
                else if (e.type === 'skipped') ctx.out(`${e.label}: left out, ${e.reason}`);
                else
                  ctx.out(
                    `${e.result.label}: ${int(e.result.bytes)} bytes, validation ${pct(e.result.valAccuracy)}, agreement ${pct(e.result.agreement)}`,
                  );
              },
            },
          );
        } catch (err) {
          if (err instanceof CompressInterrupted) {
            const cmd = ['digitkit', ...process.argv.slice(process.argv.indexOf('compress'))]
              .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
              .join(' ');
            throw new InterruptedError(`${err.message}; resume with: ${cmd}`, {
              finished: err.finished,
              work: err.work,
              resume: cmd,
            });
          }
          throw err;
        }
        let files: string[] = [];
        if (f.report) {
          const { writeCompressReport } = await import('../compress/report.js');
          files = await writeCompressReport(f.report, r);
        }
        ctx.out('');
        for (const l of frontierTable(r)) ctx.out(l);
        ctx.out('');
        ctx.out(
          `chose ${r.chosen.label} (${r.chosen.precision.join(', ')}) on validation: test accuracy ${pct(r.chosen.testAccuracy)}, agreement with ${r.model.path} ${pct(r.chosen.testAgreement)} on the test set`,
        );
        ctx.out(
          `wrote ${r.out.path} (${int(r.out.bytes)} bytes of ${int(r.budget)}, sha256 ${r.out.sha256.slice(0, 12)}…) and ${r.fixtures}`,
        );
        ctx.out(
          `verify    max |Δp| ${r.verify.max ? r.verify.max.diff.toExponential(2) : '-'} over ${r.verify.cases} cases: ${r.verify.ok ? ctx.color.green('PARITY OK') : ctx.color.red('PARITY FAILED')}`,
        );
        if (files.length) ctx.out(`report    ${files.map((x) => `${f.report}/${x}`).join(', ')}`);
        return {
          json: { ...r, report: f.report ? files : undefined },
          exitCode: r.verify.ok ? ExitCode.ok : ExitCode.checkFailed,
        };
      }),
    );
}
