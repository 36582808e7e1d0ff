// The accuracy that quantize, fixtures and eval report is computed by the code `verify` checks: all
// three classify through classifyBatch (src/infer/batch.ts), and classifyBatch gives, bit for bit,
// the probabilities verify's own runner gets from the shipped core (dist/core/index.js) for the
// shipped model, on every t10k digit. The float path they used before (pixelsToInput + forwardBatch)
// does not: the test tells the two apart.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { forwardBatch, pixelsToInput } from '../src/core/index.js';
import { loadMnist, type MnistSplit } from '../src/data/load.js';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { runEval } from '../src/eval/evaluate.js';
import { classifyBatch, type BatchPredictions } from '../src/infer/batch.js';
import { readModelFile, type ModelFile } from '../src/node/model-file.js';
import { SHIPPED_CORE } from '../src/node/paths.js';
import { runQuantize } from '../src/quant/quantize.js';
import { readFixturesFile } from '../src/verify/fixtures-file.js';
import { makeFixtures } from '../src/verify/fixtures.js';
import { runCases } from '../src/verify/verify.js';
import { ROOT } from './helpers/cli.js';
import { tempDir } from './helpers/random-model.js';

// Every classifyBatch call the commands make is recorded (the real function runs).
vi.mock('../src/infer/batch.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/infer/batch.js')>();
  return { ...real, classifyBatch: vi.fn(real.classifyBatch) };
});
const calls = vi.mocked(classifyBatch);

const DATA = embeddedMnistDir();
const INT8 = path.join(ROOT, 'models/mnist-int8.json');
const F32 = path.join(ROOT, 'models/mnist-f32.json');
const dir = tempDir('digitkit-accuracy-path-');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let test: MnistSplit;
let int8: ModelFile;
/** What verify's runner gets from the shipped core for the shipped int8 model, per t10k digit. */
let shipped: number[][];

const correctOf = (probs: number[][], labels: ArrayLike<number>) =>
  probs.filter((p, i) => p.indexOf(Math.max(...p)) === labels[i]).length;
const rows = (p: BatchPredictions) =>
  Array.from({ length: p.count }, (_, s) => Array.from(p.probs.subarray(s * p.classes, (s + 1) * p.classes)));

beforeAll(async () => {
  test = (await loadMnist(DATA, ['t10k'])).test!;
  int8 = await readModelFile(INT8);
  shipped = await runCases({
    coreUrl: pathToFileURL(SHIPPED_CORE).href,
    modelText: int8.bytes.toString('utf8'),
    source: INT8,
    inputs: Array.from({ length: test.count }, (_, i) =>
      Buffer.from(test.images.subarray(i * 784, (i + 1) * 784)).toString('base64'),
    ),
  });
});

describe('one inference path for every reported accuracy', () => {
  it('classifyBatch computes bit for bit what verify runs through the shipped core; the float path does not', () => {
    calls.mockClear();
    const p = classifyBatch(int8.model, test.images);
    expect(rows(p)).toEqual(shipped);
    expect(Array.from(p.predicted)).toEqual(shipped.map((q) => q.indexOf(Math.max(...q))));
    const float = forwardBatch(int8.model, pixelsToInput(int8.model, test.images), test.count);
    const differ = shipped.flat().filter((q, k) => q !== float[k]).length;
    expect(differ).toBeGreaterThan(0);
  });

  it('eval: the accuracy and the errors it reports are counted from those probabilities', async () => {
    calls.mockClear();
    const r = await runEval({ model: INT8, data: DATA });
    expect(calls).toHaveBeenCalledTimes(1);
    expect(rows(calls.mock.results[0].value as BatchPredictions)).toEqual(shipped);
    expect(r.model.correct).toBe(correctOf(shipped, test.labels));
    expect(r.model.accuracy).toBe(correctOf(shipped, test.labels) / test.count);
    expect(r.model.errors.map((e) => e.index)).toEqual(
      shipped.flatMap((q, i) => (q.indexOf(Math.max(...q)) === test.labels[i] ? [] : [i])),
    );
  });

  it('quantize: the int8 accuracy it reports (and writes into the model) is counted from those probabilities', async () => {
    calls.mockClear();
    const out = path.join(dir, 'mnist-int8.json');
    const r = await runQuantize({ in: F32, out, data: DATA });
    // The shipped int8 model is what quantize writes from the shipped float model, byte for byte.
    expect(fs.readFileSync(out)).toEqual(fs.readFileSync(INT8));
    // The validation measurements (held-out training images: each layer alone, then the whole model)
    // go through it too; the test set's two calls are the float and the int8 model.
    const onTest = calls.mock.results.map((c) => c.value as BatchPredictions).filter((p) => p.count === test.count);
    expect(onTest).toHaveLength(2);
    const [float, quantized] = onTest;
    expect(rows(quantized)).toEqual(shipped);
    expect(r.accuracy.int8).toBe(correctOf(shipped, test.labels) / test.count);
    const f32 = await readModelFile(F32);
    expect(Array.from(float.probs)).toEqual(Array.from(classifyBatch(f32.model, test.images).probs));
  });

  it('fixtures: the least sure cases are chosen by the margin of those probabilities', async () => {
    calls.mockClear();
    const made = makeFixtures(int8, test, 100, 'models/mnist-int8.json');
    expect(calls).toHaveBeenCalledTimes(1);
    expect(rows(calls.mock.results[0].value as BatchPredictions)).toEqual(shipped);
    const margin = shipped.map((q) => {
      const s = [...q].sort((a, b) => b - a);
      return s[0] - s[1];
    });
    expect(Array.from((calls.mock.results[0].value as BatchPredictions).margin)).toEqual(margin);
    // ... and they are the cases the shipped fixtures hold.
    const fixtures = await readFixturesFile(path.join(ROOT, 'fixtures/parity.json'));
    expect(made.cases.map((c) => c.id)).toEqual(fixtures.cases.map((c) => c.id));
  });
});
