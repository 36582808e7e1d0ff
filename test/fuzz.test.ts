// The project's own fuzz suite, bounded (issue 19): 2,000 seeded mutations of models, fixtures, IDX
// files, images, CSV and ONNX files through the library functions the commands use (in a worker thread
// watched for hangs and heap exhaustion), and a sample of them through the real CLI. Any crash, hang
// or wrong success (NaN included) fails. `npm run fuzz -- --count N --time S` is the long run.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module script (npm run fuzz), without type declarations.
import { formatReport, runFuzz } from '../scripts/fuzz.mjs';
import { runCli } from './helpers/cli.js';
import { randomModelText, tempDir } from './helpers/random-model.js';
import sharp from 'sharp';

interface FuzzReport {
  cases: number;
  counts: Record<string, number>;
  byKind: Record<string, Record<string, number>>;
  cli: { cases: number; counts: Record<string, number> };
  failures: { outcome: string; kind: string; index: number; detail: string }[];
  unclear: { kind: string; index: number; message: string }[];
}

describe('fuzz suite', () => {
  it('2,000 mutated inputs of every kind: no crash, no hang, no wrong success; clean errors are one line naming the file', async () => {
    const r = (await runFuzz({ seed: 19, count: 2000, cliEvery: 80 })) as FuzzReport;
    console.log((formatReport(r) as string[]).join('\n'));
    expect(r.cases).toBe(2000);
    const total = Object.values(r.counts).reduce((a, b) => a + b, 0);
    expect(total).toBe(2000);
    // Every kind was exercised, and both ways: some mutations still parse (the checks behind the
    // parser are reached), most are refused.
    for (const kind of ['model', 'fixtures', 'idx', 'image', 'csv', 'onnx']) {
      const k = r.byKind[kind];
      expect(
        Object.values(k).reduce((a, b) => a + b, 0),
        kind,
      ).toBeGreaterThan(300);
      expect(k.ok ?? 0, kind).toBeGreaterThan(0);
    }
    expect(r.cli.cases).toBe(25);
    expect(r.failures).toEqual([]);
    expect(r.unclear).toEqual([]);
  }, 600_000);

  it("found by the fuzzer: a PNG cut right after a chunk's data (no CRC) is exit 5, not an internal error", async () => {
    const dir = tempDir('digitkit-fuzz-png-');
    const model = path.join(dir, 'model.json');
    fs.writeFileSync(model, randomModelText({ shape: [784, 8, 10] }));
    const png = await sharp({ create: { width: 28, height: 28, channels: 3, background: 'black' } })
      .png()
      .toBuffer();
    const idat = png.indexOf('IDAT') - 4;
    const len = png.readUInt32BE(idat);
    const cut = path.join(dir, 'cut.png');
    fs.writeFileSync(cut, png.subarray(0, idat + 8 + len));
    const r = await runCli(['predict', '--model', model, cut]);
    expect(r.stderr).toMatch(new RegExp(`^digitkit predict: ${cut}: .*PNG`));
    expect(r.code).toBe(5);
  });
});
