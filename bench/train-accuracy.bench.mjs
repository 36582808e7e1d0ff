// The accuracy study: the default `digitkit train` recipe (and the --fast preset) on the full MNIST
// training set for seeds 1, 2, 3; reports test accuracy per seed, mean and min, and fails (exit 1) if
// the default recipe misses its floor (mean >= 99.0%, every seed >= 98.5%) or --fast misses 98.5%.
// Run alone with `npm run bench -- accuracy` (about 150 epochs: a few minutes).
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { pct } from '../dist/format.js';
import { benchTemp, BIN, ROOT, trainData } from './setup.mjs';

const DATA = trainData();
const TMP = benchTemp('digitkit-accuracy-');

function train(flags) {
  const r = spawnSync(
    process.execPath,
    [BIN, 'train', '--data', DATA, '--out', path.join(TMP, 'm.json'), '--json', ...flags],
    { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (r.status !== 0) throw new Error(`digitkit train ${flags.join(' ')} failed: ${r.stderr}`);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const epochs = lines.filter((l) => l.type === 'epoch');
  const firstAbove = epochs.find((e) => e.valAccuracy >= 0.985)?.epoch;
  return { ...lines.at(-1), firstAbove };
}

let failed = false;
for (const [name, flags, floorMean, floorMin] of [
  ['default recipe', [], 0.99, 0.985],
  ['--fast', ['--fast'], 0.985, 0.985],
]) {
  const runs = [1, 2, 3].map((seed) => ({ seed, ...train([...flags, '--seed', String(seed)]) }));
  const accs = runs.map((r) => r.testAccuracy);
  const mean = accs.reduce((a, b) => a + b, 0) / accs.length;
  const min = Math.min(...accs);
  console.log(
    `${name} (${runs[0].config.epochs} epochs): ${runs.map((r) => `seed ${r.seed} ${pct(r.testAccuracy)} (val ${pct(r.valAccuracy)}, 98.5% val by epoch ${r.firstAbove ?? '-'}, ${r.seconds.toFixed(0)} s)`).join('; ')}`,
  );
  const ok = mean >= floorMean && min >= floorMin;
  console.log(
    `  float test accuracy mean ${pct(mean)}, min ${pct(min)}: ${ok ? 'meets' : 'MISSES'} the floor (mean >= ${pct(floorMean)}, min >= ${pct(floorMin)}); load average ${os.loadavg()[0].toFixed(2)}`,
  );
  failed ||= !ok;
}
process.exit(failed ? 1 : 0);
