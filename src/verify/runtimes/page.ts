/**
 * What the browser runtimes share: a local server (127.0.0.1) with an empty page, run-cases.js and
 * the module under test, each served as the bytes on disk; the page imports run-cases.js and the
 * module with real dynamic imports (never injected source) and returns the JobResult.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readInputFile } from '../../node/input-file.js';
import { startStaticServer, type StaticServer } from '../../node/static-server.js';
import type { JobResult, RunCasesArgs } from './run-cases.js';
import type { RuntimeJob } from './runtime.js';

/** An empty page to give the modules an http origin. */
const PAGE = '<!doctype html><meta charset="utf-8"><title>digitkit verify</title><link rel="icon" href="data:,">';
const RUNNER = fileURLToPath(new URL('./run-cases.js', import.meta.url));

export interface ModuleServer {
  server: StaticServer;
  /** Serve `job.module` and return the page's arguments for it. */
  argsFor(job: RuntimeJob): Promise<{ runner: string; args: RunCasesArgs }>;
  close(): Promise<void>;
}

/**
 * Routes: the page, run-cases.js, and each module under /module/<k>/<name>. A file beside a module
 * (say the .wasm a WebAssembly build fetches relative to its own URL) is read when first asked for:
 * a plain file name in the module's directory, no dotfiles, nothing below or above it.
 */
class ModuleRoutes extends Map<string, string | Uint8Array> {
  readonly dirs: string[] = [];
  override get(route: string): string | Uint8Array | undefined {
    const found = super.get(route);
    if (found !== undefined) return found;
    const m = /^\/module\/(\d+)\/([^/\\]+)$/.exec(route);
    const dir = m && this.dirs[Number(m[1])];
    if (!dir || m[2].startsWith('.')) return undefined;
    try {
      const file = path.join(dir, m[2]);
      return fs.statSync(file).isFile() ? fs.readFileSync(file) : undefined;
    } catch {
      return undefined;
    }
  }
}

export async function startModuleServer(): Promise<ModuleServer> {
  const routes = new ModuleRoutes([
    ['/index.html', PAGE],
    ['/run-cases.js', fs.readFileSync(RUNNER)],
  ]);
  const server = await startStaticServer(routes);
  return {
    server,
    async argsFor(job) {
      const bytes = await readInputFile(job.module, { kind: 'core module', missing: 'no such core module' });
      const route = `/module/${routes.dirs.length}/${path.basename(job.module)}`;
      routes.dirs.push(path.dirname(path.resolve(job.module)));
      routes.set(route, bytes);
      return {
        runner: new URL('run-cases.js', server.url).href,
        args: {
          coreUrl: new URL(route.slice(1), server.url).href,
          modelText: job.modelText,
          source: job.source,
          inputs: job.inputs,
          values: job.values,
        },
      };
    },
    close: () => server.close(),
  };
}

/** The function a page evaluates: import run-cases.js from the server and run the job. */
export const inPage = async ({ runner, args }: { runner: string; args: RunCasesArgs }): Promise<JobResult> => {
  try {
    const { runJob } = await import(runner);
    return await runJob(args);
  } catch (e) {
    return { error: { stage: 'import', name: 'Error', message: `run-cases.js: ${(e as Error)?.message ?? e}` } };
  }
};
