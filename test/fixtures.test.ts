// `digitkit fixtures`: docs/contracts/fixtures-format.md, cases from the real t10k set.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeBase64, parseRawModel } from '../src/core/index.js';
import { loadMnist } from '../src/data/load.js';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { DigitkitError } from '../src/errors.js';
import { readModelFile } from '../src/node/model-file.js';
import { parseFixtures } from '../src/verify/fixtures-file.js';
import { chooseCases, makeFixtures } from '../src/verify/fixtures.js';
import { referenceProbs } from '../src/verify/reference.js';
import { runCli } from './helpers/cli.js';
import { tempDir, writeRandomModel } from './helpers/random-model.js';

const DATA = embeddedMnistDir();
const { test: t10k } = await loadMnist(DATA, ['t10k']);

describe('choosing cases', () => {
  it('covers every class, spreads the rest evenly, and adds the least certain images', () => {
    const labels = t10k!.labels;
    const margin = Float64Array.from({ length: labels.length }, (_, i) => ((i * 7919) % 10007) / 10007);
    const picked = chooseCases(labels, margin, 100, 10);
    expect(picked).toHaveLength(100);
    expect(new Set(picked).size).toBe(100);
    expect(picked).toEqual([...picked].sort((a, b) => a - b));
    const perClass = Array(10).fill(0);
    for (const i of picked) perClass[labels[i]]++;
    expect(Math.min(...perClass)).toBeGreaterThanOrEqual(8);
    // The 20 smallest margins are in.
    const hardest = Array.from(margin.keys())
      .sort((a, b) => margin[a] - margin[b])
      .slice(0, 20);
    for (const i of hardest) expect(picked).toContain(i);
  });

  it('with exactly one case per class, takes one of each and nothing else', () => {
    const picked = chooseCases(t10k!.labels, new Float64Array(t10k!.count), 10, 10);
    expect(picked.map((i) => t10k!.labels[i]).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe('digitkit fixtures', () => {
  const dir = tempDir();
  const modelPath = writeRandomModel(dir, 'model.json', { seed: 8 });

  it('writes the contract: model path and sha256, tolerance 1e-6, float64 reference, all classes', async () => {
    const out = path.join(dir, 'out', 'parity.json');
    const r = await runCli(['fixtures', '--model', modelPath, '--out', out, '--data', DATA]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`wrote ${out}: 100 cases`);
    const text = fs.readFileSync(out, 'utf8');
    const doc = JSON.parse(text);
    expect(Object.keys(doc)).toEqual(['format', 'version', 'model', 'tolerance', 'reference', 'cases']);
    expect(doc).toMatchObject({ format: 'digitkit-fixtures', version: 1, tolerance: 1e-6, reference: 'float64' });
    expect(doc.model).toEqual({
      path: modelPath,
      sha256: createHash('sha256').update(fs.readFileSync(modelPath)).digest('hex'),
    });
    expect(doc.cases).toHaveLength(100);
    expect(new Set(doc.cases.map((c: { label: number }) => c.label)).size).toBe(10);
    expect(parseFixtures(text, out).cases).toHaveLength(100);
    // Each case is the t10k image its id names, with its true label and the reference's probabilities.
    const raw = parseRawModel(fs.readFileSync(modelPath, 'utf8'));
    for (const c of doc.cases.slice(0, 10)) {
      const i = Number(/^t10k-(\d+)$/.exec(c.id)![1]);
      const px = t10k!.images.subarray(i * 784, (i + 1) * 784);
      expect(Array.from(decodeBase64(c.pixels)!)).toEqual(Array.from(px));
      expect(c.label).toBe(t10k!.labels[i]);
      expect(c.probs).toEqual(referenceProbs(raw, px));
    }
    expect(fs.readdirSync(path.dirname(out))).toEqual(['parity.json']);
  });

  it('is deterministic: the same model and data give the same bytes', async () => {
    const model = await readModelFile(modelPath);
    const a = makeFixtures(model, t10k!, 30);
    const b = makeFixtures(model, t10k!, 30);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(a.cases).toHaveLength(30);
  });

  it('--count below one per class is a usage error (exit 2); missing data is exit 3', async () => {
    const out = path.join(dir, 'few.json');
    const few = await runCli(['fixtures', '--model', modelPath, '--out', out, '--data', DATA, '--count', '5']);
    expect(few.code).toBe(2);
    expect(few.stderr).toContain('--count 5: need at least 10, one case per class');
    const nodata = await runCli(['fixtures', '--model', modelPath, '--out', out, '--data', path.join(dir, 'none')]);
    expect(nodata.code).toBe(3);
    expect(nodata.stderr).toContain('digitkit download');
    expect(fs.existsSync(out)).toBe(false);
  });
});

describe('reading fixtures (every problem is exit 3 naming the file and field)', () => {
  const good = {
    format: 'digitkit-fixtures',
    version: 1,
    model: { path: 'm.json', sha256: 'a'.repeat(64) },
    tolerance: 1e-6,
    reference: 'float64',
    cases: [{ id: 't10k-0', label: 7, pixels: Buffer.alloc(784).toString('base64'), probs: Array(10).fill(0.1) }],
  };
  const bad = (edit: (d: any) => void, message: string) => {
    const d = structuredClone(good);
    edit(d);
    let err: unknown;
    try {
      parseFixtures(JSON.stringify(d), 'f.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DigitkitError);
    expect((err as DigitkitError).code).toBe(3);
    expect((err as DigitkitError).message).toBe(`f.json: ${message}`);
  };

  it('accepts a valid document', () => expect(parseFixtures(JSON.stringify(good), 'f.json').cases).toHaveLength(1));
  it('empty cases: nothing checked is never a pass', () =>
    bad((d) => (d.cases = []), 'cases is empty: there is nothing to verify'));
  it('wrong format', () => bad((d) => (d.format = 'x'), 'format is "x", expected "digitkit-fixtures"'));
  it('unknown version', () => bad((d) => (d.version = 3), 'version is 3, this reader knows versions 1 and 2'));
  it('bad sha256', () =>
    bad((d) => (d.model.sha256 = 'ABC'), 'model.sha256 is "ABC", expected 64 lowercase hex digits'));
  it('negative tolerance', () => bad((d) => (d.tolerance = -1), 'tolerance is -1, expected a finite number >= 0'));
  it('pixels not base64', () =>
    bad((d) => (d.cases[0].pixels = 'not base64!'), 'cases[0].pixels is not valid base64 (RFC 4648, with padding)'));
  it('a probability that is not a number', () =>
    bad((d) => (d.cases[0].probs[3] = 'x'), 'cases[0].probs[3] is "x", expected a finite number'));
  it('a duplicate id', () => bad((d) => d.cases.push({ ...d.cases[0] }), 'cases[1].id "t10k-0" appears twice'));
  it('not JSON', () => expect(() => parseFixtures('{', 'f.json')).toThrow(/^f\.json: is not valid JSON/));
});
