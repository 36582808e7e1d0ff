// curves.png for an int8 model: its own meta keeps only part of the training history (size budget),
// so eval uses the float model it was quantized from when that file is beside it, unchanged.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { runQuantize } from '../src/quant/quantize.js';
import { runCli } from './helpers/cli.js';
import { tempDir, writeRandomModel } from './helpers/random-model.js';

const history = {
  loss: [0.9, 0.5, 0.4],
  trainAccuracy: [0.8, 0.9, 0.95],
  valAccuracy: [0.9, 0.95, 0.97],
  lr: [0.002, 0.001, 0],
};

async function quantizedPair(dir: string): Promise<string> {
  writeRandomModel(dir, 'f32.json', { dtype: 'float32', meta: { history } });
  const out = path.join(dir, 'int8.json');
  await runQuantize({ in: path.join(dir, 'f32.json'), out, data: embeddedMnistDir() });
  // Whatever the quantizer kept, the int8 model's own history holds validation accuracy only here.
  const m = JSON.parse(fs.readFileSync(out, 'utf8'));
  m.meta.history = { valAccuracy: history.valAccuracy };
  fs.writeFileSync(out, JSON.stringify(m));
  return out;
}

const evalReport = async (model: string, report: string) => {
  const r = await runCli(['eval', '--model', model, '--data', embeddedMnistDir(), '--report', report, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(fs.readFileSync(path.join(report, 'report.json'), 'utf8'));
};

describe('eval: training history of a quantized model', () => {
  it('takes the full history from the float model named in meta.quantization.source', async () => {
    const dir = tempDir();
    const int8 = await quantizedPair(dir);
    const rep = await evalReport(int8, path.join(dir, 'report'));
    expect(rep.model.historyFrom).toBe(path.join(dir, 'f32.json'));
    expect(rep.model.history.loss).toEqual(history.loss);
    expect(rep.model.history.trainAccuracy).toEqual(history.trainAccuracy);
    expect(fs.existsSync(path.join(dir, 'report', 'curves.png'))).toBe(true);
  });

  it("keeps the model's own history when the float model changed since quantizing", async () => {
    const dir = tempDir();
    const int8 = await quantizedPair(dir);
    fs.appendFileSync(path.join(dir, 'f32.json'), ' ');
    const rep = await evalReport(int8, path.join(dir, 'report'));
    expect(rep.model.historyFrom).toBeUndefined();
    expect(rep.model.history).toEqual({ valAccuracy: history.valAccuracy });
  });
});
