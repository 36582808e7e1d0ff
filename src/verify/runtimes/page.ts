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

export async function startModuleServer(): Promise<ModuleServer> {
  const routes = new Map<string, string | Uint8Array>([
    ['/index.html', PAGE],
    ['/run-cases.js', fs.readFileSync(RUNNER)],
  ]);
  const server = await startStaticServer(routes);
  let served = 0;
  return {
    server,
    async argsFor(job) {
      const bytes = await readInputFile(job.module, { kind: 'core module', missing: 'no such core module' });
      const route = `/module/${served++}/${path.basename(job.module)}`;
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
