// The contracts other tools read ship in this repository (docs/contracts/): the hashes compiled into
// digitkit must be theirs, and the copies must stay those of the project's shared contracts.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MNIST_FILES } from '../src/data/mnist.js';
import { DATASETS, FASHION_FILES } from '../src/data/datasets.js';
import { ROOT } from './helpers/cli.js';

const DOCS = path.join(ROOT, 'docs/contracts');
const contract = path.join(DOCS, 'mnist.sha256');

describe('docs/contracts/mnist.sha256', () => {
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

  it('every contract the README and the code point at is in docs/contracts/', () => {
    for (const name of ['model-format.md', 'fixtures-format.md', 'mnist.sha256', 'fashion-mnist.sha256'])
      expect(fs.statSync(path.join(DOCS, name)).size).toBeGreaterThan(100);
  });
});

// Where the project's shared contracts are checked out beside this repository or its worktree (the
// developers' machines; not a user's clone or CI), the shipped copies must be identical to them.
const shared = [path.join(ROOT, '../shared/contracts'), path.join(ROOT, '../../shared/contracts')].find((d) =>
  fs.existsSync(d),
);
describe.skipIf(!shared)('docs/contracts/ against ../docs/contracts/ (developers only)', () => {
  it('holds the same documents, byte for byte', () => {
    const names = fs.readdirSync(shared!).sort();
    expect(fs.readdirSync(DOCS).sort()).toEqual(names);
    for (const name of names)
      expect(fs.readFileSync(path.join(DOCS, name), 'utf8'), name).toBe(
        fs.readFileSync(path.join(shared!, name), 'utf8'),
      );
  });
});

const fashion = path.join(DOCS, 'fashion-mnist.sha256');

describe('docs/contracts/fashion-mnist.sha256', () => {
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
