// Large runs can spread over worker threads: the results must be exactly those of one thread.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, expect, it } from 'vitest';
// The compiled library: worker threads run dist/predict/worker.js.
import { runPredict } from '../dist/predict/predict.js';
import { digitAt, LOOKS, loadT10k, renderDigit, requireTestModel, rng } from './helpers/render.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-predict-threads-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

it('worker threads give the same predictions, errors and saved inputs as one thread', async () => {
  const model = requireTestModel();
  const t = await loadT10k();
  const dir = path.join(tmp, 'in');
  fs.mkdirSync(dir);
  const r = rng(3);
  const looks = Object.values(LOOKS);
  for (let i = 0; i < 80; i++) {
    const { bytes, ext } = await renderDigit(digitAt(t, 500 + i).pixels, looks[i % looks.length], r);
    fs.writeFileSync(path.join(dir, `${String(i).padStart(3, '0')}${ext}`), bytes);
  }
  fs.writeFileSync(path.join(dir, '900-broken.png'), Buffer.from('not a png'));
  fs.writeFileSync(
    path.join(dir, '901-blank.png'),
    await sharp({ create: { width: 50, height: 50, channels: 3, background: '#fff' } })
      .png()
      .toBuffer(),
  );

  const run = async (threads: number) => {
    let progress = 0;
    const out = path.join(tmp, `saved-${threads}`);
    const report = await runPredict({
      inputs: [dir],
      model,
      threads,
      savePreprocessed: out,
      onProgress: (done) => (progress = done),
    });
    expect(progress).toBe(82);
    const saved = report.results.map((p) => (p.preprocessed ? fs.readFileSync(p.preprocessed) : null));
    return {
      threads: report.threads,
      results: report.results.map((p) => ({ ...p, preprocessed: p.preprocessed && path.basename(p.preprocessed) })),
      saved,
      rejected: report.rejected,
    };
  };
  const one = await run(1);
  const three = await run(3);
  expect(one.rejected).toBe(2);
  // Three worker threads ran (predict would silently fall back to this thread without them).
  expect([one.threads, three.threads]).toEqual([1, 3]);
  expect({ ...three, threads: 1 }).toEqual(one);
});
