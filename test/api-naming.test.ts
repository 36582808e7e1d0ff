// One name for the class across the library (issue 18): the core's classifyPixels, the Node API's
// classifyImage and runPredict's results all say `label` (a string: the model's class name, "7" for
// MNIST's 7) and `index` (its position); the public Model types carry no internal working state.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyImage, classifyPixels, loadShippedModel, runPredict } from '../src/index.js';
import { ROOT } from './helpers/cli.js';
import { tempDir } from './helpers/random-model.js';
import { digitAt, loadT10k, LOOKS, renderDigit, rng } from './helpers/render.js';

describe('the class is `label` (string) and `index` (number) everywhere', () => {
  it('classifyImage and runPredict name it as classifyPixels does, top entries included', async () => {
    const model = await loadShippedModel();
    const t10k = await loadT10k();
    const { bytes } = await renderDigit(digitAt(t10k, 0).pixels, LOOKS['canvas 200x200'], rng(1));
    const c = await classifyImage(bytes, model, { top: 2 });
    const core = classifyPixels(model, c.pixels);
    expect(c.label).toBe('7');
    expect(c.label).toBe(core.label);
    expect(c.index).toBe(core.index);
    expect(Object.keys(c)).not.toContain('digit');
    expect(c.top[0]).toEqual({ label: '7', index: 7, p: c.probability });
    for (const t of c.top) expect(Object.keys(t).sort()).toEqual(['index', 'label', 'p']);

    const dir = tempDir();
    const file = path.join(dir, 'seven.png');
    fs.writeFileSync(file, bytes);
    const report = await runPredict({ inputs: [file], model: path.join(ROOT, 'models/mnist-int8.json') });
    const [r] = report.results;
    expect(r).toMatchObject({ file, label: '7', index: 7, probability: c.probability });
    expect(Object.keys(r)).not.toContain('digit');
    expect(r.top[0]).toEqual({ label: '7', index: 7, p: c.probability });
  });

  it("the published types: Model (core and core-wasm) exposes no scratch buffers or internals; ImageClassification's class is label: string", () => {
    const iface = (file: string, name: string) => {
      const text = fs.readFileSync(path.join(ROOT, 'dist', file), 'utf8');
      const m = new RegExp(`export interface ${name}\\b[^{]*\\{([\\s\\S]*?)\\n\\}`).exec(text);
      expect(m, `${file}: interface ${name}`).not.toBeNull();
      return m![1];
    };
    for (const f of ['core/index.d.ts', 'core-wasm/index.d.ts']) {
      const body = iface(f, 'Model');
      for (const internal of ['scratch', 'idx', 'val', 'packed', 'kernel', 'raw', 'core'])
        expect(body, `${f} Model.${internal}`).not.toMatch(new RegExp(`^\\s*${internal}\\??:`, 'm'));
    }
    const ic = iface('predict/classify.d.ts', 'ImageClassification');
    expect(ic).toMatch(/^\s*label: string;/m);
    expect(ic).toMatch(/^\s*index: number;/m);
    expect(ic).not.toMatch(/^\s*digit\??:/m);
    expect(iface('predict/classify.d.ts', 'TopEntry')).toMatch(/label: string;\s+index: number;\s+p: number;/);
  });
});
