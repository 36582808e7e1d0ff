/**
 * The entry point Deno and Bun run for `verify --runtime deno|bun`: a job (RunCasesArgs, JSON) on
 * stdin, the JobResult and the runtime's own name and version (JSON) on stdout. Only `node:process`
 * besides run-cases.ts, which both runtimes provide.
 */
import process from 'node:process';
import { runJob, type RunCasesArgs } from './run-cases.js';

declare const Deno: { version: { deno: string } } | undefined;
declare const Bun: { version: string } | undefined;

const chunks: Uint8Array[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Uint8Array);
const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
chunks.reduce((at, c) => (bytes.set(c, at), at + c.length), 0);
const job = JSON.parse(new TextDecoder().decode(bytes)) as RunCasesArgs;
const runtime =
  typeof Deno !== 'undefined'
    ? `Deno ${Deno.version.deno}`
    : typeof Bun !== 'undefined'
      ? `Bun ${Bun.version}`
      : `Node.js ${process.versions.node}`;
// No module: the caller only asks who we are.
const result = job.coreUrl ? await runJob(job) : {};
process.stdout.write(JSON.stringify({ runtime, ...result }));
