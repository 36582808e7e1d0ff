#!/usr/bin/env node
// digitkit's own fuzz suite: mutated models, fixtures, IDX files, images, CSV and ONNX files, seeded
// (the same --seed always gives the same cases), run in-process through the library functions the
// commands use (a worker thread, watched for hangs and heap exhaustion), plus a sample through the real
// CLI. Counts per outcome: clean error (by exit code), ok, crash, hang, wrong success (NaN included).
//
//   npm run fuzz -- [--count N] [--time SECONDS] [--seed S] [--cli-every K] [--json]
//
// Exits 1 when any case crashed, hung or succeeded wrongly; each such case is printed with its seed and
// index (re-run one with --seed S --from INDEX --count 1).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin/digitkit.js');
const WORKER = new URL('./fuzz-worker.mjs', import.meta.url);
const EXT = { model: '.json', fixtures: '.json', idx: '', image: '.png', csv: '.csv', onnx: '.onnx' };

/**
 * Run the fuzz suite. `count` cases (or until `timeMs` has passed), each given `caseMs` before it
 * counts as a hang; every `cliEvery`-th case also goes through the CLI.
 */
export async function runFuzz({
  seed = 1,
  count = 2000,
  from = 0,
  timeMs = Infinity,
  caseMs = 10_000,
  cliEvery = 50,
  heapMb = 1024,
  onCase,
} = {}) {
  const started = Date.now();
  const counts = {};
  const byKind = {};
  const failures = [];
  // Clean errors that are not one line naming the file (reported, not failed).
  const unclear = [];
  const tally = (kind, outcome, code) => {
    const key = outcome === 'clean error' ? `clean error (exit ${code})` : outcome;
    counts[key] = (counts[key] ?? 0) + 1;
    (byKind[kind] ??= {})[key] = (byKind[kind][key] ?? 0) + 1;
  };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-fuzz-cli-'));
  let worker = null;
  let seeds;
  const startWorker = async () => {
    worker = new Worker(WORKER, { workerData: { seed }, resourceLimits: { maxOldGenerationSizeMb: heapMb } });
    seeds = await new Promise((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
  };
  const cli = [];
  try {
    await startWorker();
    let done = 0;
    for (let index = from; index < from + count && Date.now() - started < timeMs; index++) {
      const keep = cliEvery > 0 && index % cliEvery === 0;
      const r = await new Promise((resolve) => {
        const timer = setTimeout(
          () => resolve({ index, outcome: 'hang', detail: `no result within ${caseMs} ms` }),
          caseMs,
        );
        const onMessage = (m) => {
          clearTimeout(timer);
          worker.off('error', onError);
          resolve(m);
        };
        const onError = (err) => {
          clearTimeout(timer);
          worker.off('message', onMessage);
          resolve({ index, outcome: 'crash', detail: `worker died: ${err.code ?? ''} ${err.message}`, dead: true });
        };
        worker.once('message', onMessage);
        worker.once('error', onError);
        worker.postMessage({ index, keep });
      });
      if (r.outcome === 'hang' || r.dead) {
        await worker.terminate();
        await startWorker();
      }
      const kind = r.kind ?? ['model', 'fixtures', 'idx', 'image', 'csv', 'onnx'][index % 6];
      tally(kind, r.outcome, r.code);
      if (r.unclear) unclear.push({ index, kind, message: r.message });
      if (!['ok', 'clean error'].includes(r.outcome))
        failures.push({ seed, index, kind, outcome: r.outcome, detail: r.detail });
      if (r.bytes) cli.push({ index, kind, which: r.which, bytes: Buffer.from(r.bytes) });
      done++;
      onCase?.(done, r);
    }
    // The CLI sample: the same mutated files through the commands a user runs.
    const cliCounts = {};
    const model = path.join(tmp, 'model.json');
    const png = path.join(tmp, 'seed.png');
    fs.writeFileSync(model, seeds.model);
    fs.writeFileSync(png, seeds.png);
    for (const c of cli) {
      const file = path.join(tmp, `cli-${c.index}${EXT[c.kind]}`);
      let args;
      if (c.kind === 'model') args = ['predict', '--model', file, png];
      else if (c.kind === 'fixtures') args = ['verify', '--model', model, '--fixtures', file];
      else if (c.kind === 'image') args = ['predict', '--model', model, file];
      else if (c.kind === 'csv') args = ['inspect', file, '--label-column', 'label'];
      else if (c.kind === 'onnx') args = ['import', file, '--out', file + '.json'];
      else {
        // A t10k pair, one of the two mutated, measured by eval.
        const dir = path.join(tmp, `idx-${c.index}`);
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), c.which === 0 ? c.bytes : seeds.idxImages);
        fs.writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), c.which === 1 ? c.bytes : seeds.idxLabels);
        args = ['eval', '--model', model, '--data', dir];
      }
      if (c.kind !== 'idx') fs.writeFileSync(file, c.bytes);
      const r = await runCli(args, caseMs * 3);
      const outcome = r.timedOut
        ? 'hang'
        : r.signal ||
            r.code === 70 ||
            r.code === null ||
            r.code > 5 ||
            /internal error|Maximum call stack|heap out of memory/i.test(r.stderr)
          ? 'crash'
          : /NaN/.test(r.stdout)
            ? 'wrong success'
            : r.code === 0
              ? 'ok'
              : 'clean error';
      const key = outcome === 'clean error' ? `clean error (exit ${r.code})` : outcome;
      cliCounts[key] = (cliCounts[key] ?? 0) + 1;
      if (!['ok', 'clean error'].includes(outcome))
        failures.push({
          seed,
          index: c.index,
          kind: c.kind,
          outcome,
          detail: `digitkit ${args[0]}: exit ${r.code} ${r.signal ?? ''} ${r.stderr.slice(0, 300)}`,
          cli: true,
        });
    }
    return {
      seed,
      cases: done,
      counts,
      byKind,
      cli: { cases: cli.length, counts: cliCounts },
      failures,
      unclear,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    await worker?.terminate();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function runCli(args, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal: timedOut ? null : signal, stdout, stderr, timedOut });
    });
  });
}

/** The report as lines: per outcome, then per kind. */
export function formatReport(r) {
  const lines = [
    `fuzz seed ${r.seed}: ${r.cases} cases in-process, ${r.cli.cases} through the CLI, ${r.seconds.toFixed(1)} s`,
  ];
  const show = (c) =>
    Object.entries(c)
      .sort()
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  lines.push(`  in-process: ${show(r.counts)}`);
  for (const [kind, c] of Object.entries(r.byKind)) lines.push(`    ${kind.padEnd(8)} ${show(c)}`);
  lines.push(`  CLI: ${show(r.cli.counts) || 'none'}`);
  lines.push(`  clean errors not one line naming the file: ${r.unclear.length}`);
  for (const u of r.unclear.slice(0, 5)) lines.push(`    ${u.kind} #${u.index}: ${JSON.stringify(u.message)}`);
  for (const f of r.failures.slice(0, 20))
    lines.push(`  FAIL ${f.outcome} ${f.kind} --seed ${f.seed} --from ${f.index}${f.cli ? ' (CLI)' : ''}: ${f.detail}`);
  lines.push(
    r.failures.length
      ? `${r.failures.length} failures (crash, hang or wrong success)`
      : 'no crash, no hang, no wrong success',
  );
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(`--${name}`);
    return i >= 0 ? Number(process.argv[i + 1]) : dflt;
  };
  const r = await runFuzz({
    seed: arg('seed', 1),
    count: arg('count', 20_000),
    from: arg('from', 0),
    timeMs: arg('time', 600) * 1000,
    cliEvery: arg('cli-every', 50),
    onCase: (n) => {
      if (n % 500 === 0) process.stderr.write(`  ${n} cases\n`);
    },
  });
  if (process.argv.includes('--json')) console.log(JSON.stringify(r, null, 2));
  else console.log(formatReport(r).join('\n'));
  process.exitCode = r.failures.length ? 1 : 0;
}
