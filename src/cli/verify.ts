/**
 * `digitkit verify [--runtime node,chromium,firefox,deno,bun,onnxruntime] [--core FILE]... [--junit FILE]`:
 * the fixtures through the shipped inference modules (the core and core-wasm, unless --core names
 * others) in each runtime. One runtime and one module print the report as it always has; more print a
 * table, a row per runtime and module.
 */
import type { Command } from 'commander';
import { DigitkitError, ExitCode, usageError } from '../errors.js';
import { DEFAULT_FIXTURES, DEFAULT_MODEL, isShipped, orShipped, shippedLine } from '../node/paths.js';
import { CONTRACT_TOLERANCE } from '../verify/fixtures-file.js';
import { sci } from '../format.js';
import type { RuntimeName } from '../verify/runtimes/runtime.js';
import type { RuntimeRow, RuntimesReport } from '../verify/verify-runtimes.js';
import { handler } from './context.js';
import { collect, numberOption } from './options.js';

interface Opts {
  model?: string;
  fixtures?: string;
  tolerance?: number;
  maxTolerance: number;
  core?: string[];
  runtime?: string[];
  browser?: boolean;
  chromium?: string;
  junit?: string;
  json?: boolean;
}

/** What ran core-wasm's cases, as the report says it. */
const ENGINES: Record<string, string> = {
  wasm: 'wasm (WebAssembly SIMD kernel)',
  core: 'core (no wasm SIMD here: the portable core ran)',
};

/** How many failing cases are listed by name (all are in --json). */
const SHOW_FAILURES = 10;

/** The report's top-level fields as `verify` has always printed them: those of the worst row. */
function worstRow(r: RuntimesReport): RuntimeRow {
  const failing = r.rows.filter((x) => !x.ok);
  const pool = failing.length ? failing : r.rows;
  return pool.reduce((a, b) => ((b.max?.diff ?? Infinity) > (a.max?.diff ?? Infinity) ? b : a));
}

export function register(program: Command): void {
  program
    .command('verify')
    .description(
      'Check that the shipped inference modules (the core and core-wasm) reproduce the parity fixtures in every runtime asked for (exit 0 only if every case is within tolerance)',
    )
    .option('--model <file>', `model the fixtures were made for ${orShipped(DEFAULT_MODEL)}`)
    .option(
      '--fixtures <file>',
      `parity fixtures (default ${DEFAULT_FIXTURES} for ${DEFAULT_MODEL} or the copy digitkit ships, else fixtures/<model name>-parity.json)`,
    )
    .option(
      '--tolerance <x>',
      "max |Δp| allowed (default: the fixtures' own tolerance, if at most --max-tolerance)",
      numberOption,
    )
    .option(
      '--max-tolerance <x>',
      'refuse (exit 3) a fixtures file whose own tolerance is looser than this',
      numberOption,
      CONTRACT_TOLERANCE,
    )
    .option(
      '--runtime <list>',
      'where to run the cases: node, chromium, firefox, deno, bun, onnxruntime, comma-separated (default node)',
      collect,
    )
    .option(
      '--core <file>',
      'a module the JavaScript runtimes load instead of the shipped dist/core/index.js and dist/core-wasm/index.js (repeatable: a row each)',
      collect,
    )
    .option('--browser', 'the same as --runtime chromium')
    .option('--chromium <path>', 'Chromium executable (default: $DIGITKIT_CHROMIUM, else /usr/bin/chromium)')
    .option('--junit <file>', 'also write the results as JUnit XML (a testsuite per runtime, a testcase per case)')
    .option('--json', 'print one JSON document')
    .action(
      handler<Opts>(async (opts, ctx) => {
        const { parseRuntimes, runVerifyRuntimes } = await import('../verify/verify-runtimes.js');
        const parsed = parseRuntimes([...(opts.runtime ?? []), ...(opts.browser ? ['chromium'] : [])]);
        if (typeof parsed === 'string') throw usageError(`--runtime: ${parsed}`);
        const runtimes: RuntimeName[] = parsed.length ? parsed : ['node'];
        if (opts.chromium && !runtimes.includes('chromium'))
          throw usageError('--chromium only applies with --runtime chromium (or --browser)');
        const r = await runVerifyRuntimes({
          model: opts.model,
          fixtures: opts.fixtures,
          tolerance: opts.tolerance,
          maxTolerance: opts.maxTolerance,
          runtimes,
          modules: opts.core,
          chromium: opts.chromium,
          junit: opts.junit,
          // GitHub reads workflow commands from the step's output; under --json they go to stderr.
          print: ctx.json ? ctx.err : (line) => process.stdout.write(line + '\n'),
        });
        const { color } = ctx;
        const worst = worstRow(r);
        // Files the package ships, used because the working directory has none: said in text and --json.
        const shipped = [
          ...(opts.model === undefined ? [r.model.path] : []),
          ...(opts.fixtures === undefined ? [r.fixtures] : []),
        ].filter(isShipped);
        const chromium = r.rows.find((x) => x.runtime === 'chromium');
        const json = {
          ...r,
          ...worst,
          ok: r.ok,
          model: r.model,
          fixtures: r.fixtures,
          core: r.rows.find((x) => x.runtime !== 'onnxruntime')?.module ?? worst.module,
          ...(chromium && { browser: chromium.version }),
          rows: r.rows,
          ...(shipped.length && { shipped }),
        };
        ctx.out(`model     ${r.model.path} (sha256 ${r.model.sha256.slice(0, 12)}…, as the fixtures expect)`);
        if (shipped.length) ctx.out(`shipped   ${shippedLine(shipped)}`);
        // The tolerance applied, always, and whose it is: the file under test's (bounded) or the caller's.
        const casesLine = `cases     ${r.cases} from ${r.fixtures}, tolerance ${sci(r.tolerance)} ${
          r.toleranceFrom === 'option' ? '(--tolerance)' : `(fixtures, max ${sci(r.maxTolerance)})`
        }`;
        const failureLine = (f: RuntimeRow['failures'][number], prefix: string) =>
          color.red(
            `  ${prefix}${f.id} class ${f.class}: expected ${f.expected}, got ${f.actual} (|Δp| ${sci(f.diff)} > ${sci(r.tolerance)})`,
          );

        if (r.rows.length === 1) {
          // One runtime: the report as `verify` and `verify --browser` always printed it.
          const row = r.rows[0];
          if (row.error && !r.junit)
            throw new DigitkitError(
              ExitCode.checkFailed,
              `the core at ${row.module} failed${row.runtime === 'node' ? '' : ` in ${row.version}`}: ${row.error}`,
            );
          const where = row.runtime === 'node' ? '' : ` in ${row.version}`;
          ctx.out(`${row.runtime === 'onnxruntime' ? 'graph' : 'core '}     ${row.module}`);
          if (row.engine) ctx.out(`engine    ${ENGINES[row.engine] ?? row.engine}`);
          if (row.runtime === 'chromium') ctx.out(`browser   ${row.version} (headless)`);
          else if (row.runtime !== 'node') ctx.out(`runtime   ${row.version}`);
          ctx.out(casesLine);
          if (row.max) ctx.out(`max |Δp|  ${sci(row.max.diff)} (case ${row.max.id}, class ${row.max.class})${where}`);
          ctx.out(`correct   ${row.correct}/${row.cases} cases`);
          if (row.error) ctx.out(color.red(`  the module failed: ${row.error}`));
          for (const f of row.failures.slice(0, SHOW_FAILURES)) ctx.out(failureLine(f, ''));
          if (row.failures.length > SHOW_FAILURES)
            ctx.out(color.red(`  … and ${row.failures.length - SHOW_FAILURES} more cases`));
          if (r.junit) ctx.out(`junit     ${r.junit}`);
          ctx.out(
            row.ok
              ? color.green('PARITY OK')
              : color.red(
                  row.error
                    ? 'PARITY FAILED (the module failed)'
                    : `PARITY FAILED (${row.failures.length} of ${row.cases} cases outside tolerance)`,
                ),
          );
        } else {
          const modules = [...new Set(r.rows.filter((x) => x.runtime !== 'onnxruntime').map((x) => x.module))];
          if (modules.length === 1) ctx.out(`core      ${modules[0]}`);
          ctx.out(casesLine);
          // The engine column when a module names what ran it (core-wasm: its kernel, or the fallback).
          const engines = r.rows.some((x) => x.engine);
          const table = [
            ['runtime', 'version', ...(engines ? ['engine'] : []), 'max |Δp|', 'case, class', 'correct', 'time', ''],
            ...r.rows.map((x) => [
              x.name,
              x.version,
              ...(engines ? [x.engine ?? '–'] : []),
              x.error ? 'error' : x.max ? sci(x.max.diff) : '–',
              x.max && !x.error ? `${x.max.id}, ${x.max.class}` : '–',
              `${x.correct}/${x.cases}`,
              `${x.seconds.toFixed(2)} s`,
              x.runtime === 'onnxruntime' ? `(${x.module})` : '',
            ]),
          ];
          const widths = table[0].map((_, k) => Math.max(...table.map((row) => row[k].length)));
          table.forEach((cells, i) => {
            const line = cells
              .map((c, k) => c.padEnd(widths[k]))
              .join('  ')
              .trimEnd();
            ctx.out(i === 0 ? color.bold(line) : r.rows[i - 1].ok ? line : color.red(line));
          });
          for (const row of r.rows.filter((x) => !x.ok)) {
            if (row.error) ctx.out(color.red(`  ${row.name}: the module failed: ${row.error}`));
            for (const f of row.failures.slice(0, SHOW_FAILURES)) ctx.out(failureLine(f, `${row.name}: `));
            if (row.failures.length > SHOW_FAILURES)
              ctx.out(color.red(`  ${row.name}: … and ${row.failures.length - SHOW_FAILURES} more cases`));
          }
          const bad = r.rows.filter((x) => !x.ok).map((x) => x.name);
          if (r.junit) ctx.out(`junit     ${r.junit}`);
          // A row per runtime, or (several modules) per runtime and module.
          const runtimes = new Set(r.rows.map((x) => x.runtime)).size;
          const unit = modules.length > 1 ? 'checks' : 'runtimes';
          const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
          const what =
            modules.length > 1 ? ` (${plural(modules.length, 'module')}, ${plural(runtimes, 'runtime')})` : '';
          ctx.out(
            r.ok
              ? color.green(`PARITY OK in ${r.rows.length} ${unit}${what}`)
              : color.red(`PARITY FAILED in ${bad.join(', ')} (${bad.length} of ${r.rows.length} ${unit})`),
          );
        }
        return { json, exitCode: r.ok ? ExitCode.ok : ExitCode.checkFailed };
      }),
    );
}
