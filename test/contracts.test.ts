// The hashes compiled into digitkit must be those of the shared contract (when it is present).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MNIST_FILES } from '../src/data/mnist.js';
import { DATASETS, FASHION_FILES } from '../src/data/datasets.js';
import { ROOT } from './helpers/cli.js';

const contract = path.join(ROOT, '../shared/contracts/mnist.sha256');

describe.skipIf(!fs.existsSync(contract))('shared/contracts/mnist.sha256', () => {
  it('matches MNIST_FILES exactly', () => {
    const lines = fs
      .readFileSync(contract, 'utf8')
      .split('\n')
      .filter((l) => /^[0-9a-f]{64}\s+\d+\s+\S+-ubyte$/.test(l));
    const parsed = lines
      .map((l) => l.split(/\s+/))
      .map(([sha256, bytes, name]) => ({ name, sha256, bytes: Number(bytes) }));
    expect(parsed).toEqual(MNIST_FILES.map(({ name, sha256, bytes }) => ({ name, sha256, bytes })));
  });
});

const fashion = path.join(ROOT, '../shared/contracts/fashion-mnist.sha256');

describe.skipIf(!fs.existsSync(fashion))('shared/contracts/fashion-mnist.sha256', () => {
  it('matches FASHION_FILES and the class names exactly', () => {
    const text = fs.readFileSync(fashion, 'utf8');
    const parsed = text
      .split('\n')
      .filter((l) => /^[0-9a-f]{64}\s+\d+\s+\S+-ubyte$/.test(l))
      .map((l) => l.split(/\s+/))
      .map(([sha256, bytes, name]) => ({ name, sha256, bytes: Number(bytes) }));
    expect(parsed).toEqual(FASHION_FILES.map(({ name, sha256, bytes }) => ({ name, sha256, bytes })));
    const names = /^#\s+(T-shirt\/top.*)$/m
      .exec(text)![1]
      .split(',')
      .map((s) => s.trim());
    expect(names).toEqual(DATASETS['fashion-mnist'].classes);
  });
});
