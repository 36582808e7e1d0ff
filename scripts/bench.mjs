// `npm run bench`: builds, then runs every benchmark in bench/ (in name order) in one process tree,
// each printing its own section of the report. Benchmarks use the full data sets; tests never do.
import { execFileSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import path from 'node:path';

execFileSync(process.execPath, ['scripts/build.mjs'], { stdio: 'inherit' });
const dir = 'bench';
const only = process.argv.slice(2);
const files = existsSync(dir)
  ? readdirSync(dir)
      .filter((f) => f.endsWith('.bench.mjs'))
      .sort()
  : [];
let failed = 0;
for (const f of files) {
  if (only.length && !only.some((o) => f.includes(o))) continue;
  console.log(`\n=== ${f} ===`);
  try {
    execFileSync(process.execPath, ['--expose-gc', path.join(dir, f)], { stdio: 'inherit' });
  } catch {
    failed++;
    console.log(`${f} failed`);
  }
}
process.exit(failed ? 1 : 0);
