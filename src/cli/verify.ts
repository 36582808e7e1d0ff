import type { Command } from 'commander';
import { ExitCode, usageError } from '../errors.js';
import type { VerifyReport } from '../verify/verify.js';
import { DEFAULT_FIXTURES, DEFAULT_MODEL } from '../node/paths.js';
import { handler } from './context.js';
import { numberOption } from './options.js';

interface Opts {
  model: string;
  fixtures: string;
  tolerance?: number;
  core?: string;
  browser?: boolean;
  chromium?: string;
  json?: boolean;
}

const sci = (x: number) => (x === 0 ? '0' : Number.isFinite(x) ? x.toExponential(2).replace(/\.?0+e/, 'e') : String(x));
/** How many failing cases are listed by name (all are in --json). */
const SHOW_FAILURES = 10;

export function register(program: Command): void {
  program
    .command('verify')
    .description(
      'Check that the shipped inference core reproduces the parity fixtures (exit 0 only if every case is within tolerance)',
    )
    .option('--model <file>', 'model the fixtures were made for', DEFAULT_MODEL)
    .option('--fixtures <file>', 'parity fixtures', DEFAULT_FIXTURES)
    .option('--tolerance <x>', "max |Δp| allowed (default: the fixtures' own tolerance)", numberOption({ min: 0 }))
    .option('--core <file>', 'verify another build of the core module instead of the shipped dist/core/index.js')
    .option('--browser', 'run the cases in headless Chromium instead of Node (the same module, served from 127.0.0.1)')
    .option(
      '--chromium <path>',
      'Chromium executable for --browser (default: $DIGITKIT_CHROMIUM, else /usr/bin/chromium)',
    )
    .option('--json', 'print one JSON document')
    .action(
      handler<Opts>(async (opts, ctx) => {
        if (opts.chromium && !opts.browser) throw usageError('--chromium only applies with --browser');
        // The browser path (and playwright-core with it) is loaded only when asked for.
        const r: VerifyReport & { browser?: string } = opts.browser
          ? await (await import('../verify/browser.js')).runVerifyBrowser(opts)
          : await (await import('../verify/verify.js')).runVerify(opts);
        const { color } = ctx;
        const where = r.browser ? ` in ${r.browser}` : '';
        ctx.out(`model     ${r.model.path} (sha256 ${r.model.sha256.slice(0, 12)}…, as the fixtures expect)`);
        ctx.out(`core      ${r.core}`);
        if (r.browser) ctx.out(`browser   ${r.browser} (headless)`);
        ctx.out(`cases     ${r.cases} from ${r.fixtures}, tolerance ${sci(r.tolerance)}`);
        if (r.max) ctx.out(`max |Δp|  ${sci(r.max.diff)} (case ${r.max.id}, class ${r.max.class})${where}`);
        ctx.out(`correct   ${r.correct}/${r.cases} cases`);
        for (const f of r.failures.slice(0, SHOW_FAILURES)) {
          ctx.out(
            color.red(
              `  ${f.id} class ${f.class}: expected ${f.expected}, got ${f.actual} (|Δp| ${sci(f.diff)} > ${sci(r.tolerance)})`,
            ),
          );
        }
        if (r.failures.length > SHOW_FAILURES)
          ctx.out(color.red(`  … and ${r.failures.length - SHOW_FAILURES} more cases`));
        ctx.out(
          r.ok
            ? color.green('PARITY OK')
            : color.red(`PARITY FAILED (${r.failures.length} of ${r.cases} cases outside tolerance)`),
        );
        return { json: r, exitCode: r.ok ? ExitCode.ok : ExitCode.checkFailed };
      }),
    );
}
