/**
 * Runtimes that run as a child process (Deno, Bun): child.ts gets the job on stdin and answers on
 * stdout; the module is passed as a file:// URL and imported by the child, byte for byte.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { outputOf, RuntimeFailure, unavailable, type Runtime, type RuntimeJob, type RuntimeName } from './runtime.js';
import type { JobResult } from './run-cases.js';

/** The compiled child entry (dist/verify/runtimes/child.js). */
export const CHILD = fileURLToPath(new URL('./child.js', import.meta.url));

/** Longest a child may take for one job (launch included). */
const TIMEOUT_MS = 120_000;

export interface ChildRuntimeSpec {
  name: RuntimeName;
  executable: string;
  /** The command line before the entry file, given the job (e.g. Deno's permission flags). */
  args(job?: RuntimeJob): string[];
  env?: Record<string, string>;
}

/** Run one job in a child (none: only ask its version); resolves with what child.ts printed. */
function runChild(spec: ChildRuntimeSpec, job?: RuntimeJob): Promise<JobResult & { runtime?: string }> {
  const payload = JSON.stringify(
    job
      ? {
          coreUrl: pathToFileURL(path.resolve(job.module)).href,
          modelText: job.modelText,
          source: job.source,
          inputs: job.inputs,
          values: job.values,
        }
      : { coreUrl: '' },
  );
  return new Promise((resolve, reject) => {
    const child = spawn(spec.executable, [...spec.args(job), CHILD], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', ...spec.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(unavailable(`${spec.executable} cannot be run (${err.code ?? err.message})`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(stdout));
      } catch {
        const why = stderr.trim().split('\n').filter(Boolean).pop() ?? '';
        reject(
          new RuntimeFailure(
            'Error',
            `${path.basename(spec.executable)} exited with ${signal ?? `status ${code}`} without a result${why ? `: ${why}` : ''}`,
          ),
        );
      }
    });
    child.stdin.on('error', () => undefined); // a child that exits early closes its stdin
    child.stdin.end(payload);
  });
}

/**
 * Open a child-process runtime: a first run without a module learns its version (and that it
 * starts), so the table names it even when the module fails later.
 */
export async function openChildRuntime(spec: ChildRuntimeSpec): Promise<Runtime> {
  let first: { runtime?: string };
  try {
    first = await runChild(spec);
  } catch (err) {
    if (err instanceof RuntimeFailure) throw unavailable(`${spec.executable} does not start (${err.message})`);
    throw err;
  }
  const version = first.runtime ?? spec.name;
  return {
    name: spec.name,
    version,
    loadsModule: true,
    run: async (job) => outputOf(await runChild(spec, job), job.module, version),
    close: async () => undefined,
  };
}
