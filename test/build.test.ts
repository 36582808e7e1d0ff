// The build (run once by global-setup.ts) leaves in dist/ only what today's sources compile to:
// output of a deleted or moved source file must not survive and stay importable.
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

const DIST = path.join(ROOT, 'dist');
const SRC = path.join(ROOT, 'src');

it('every file in dist/ comes from a file in src/ (the build starts from an empty dist/)', () => {
  const files = fs.readdirSync(DIST, { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
  const orphans: string[] = [];
  for (const d of files) {
    const rel = path.relative(DIST, path.join(d.parentPath, d.name));
    // The compiled kernels come from src/train/wasm and src/core-wasm/wasm; the page's assets are copied as they are.
    const source =
      rel === path.join('train', 'kernels.wasm')
        ? path.join('train', 'wasm', 'train.ts')
        : rel === path.join('core-wasm', 'forward.wasm')
          ? path.join('core-wasm', 'wasm', 'forward.ts')
          : rel.startsWith(path.join('web', 'assets') + path.sep)
            ? rel
            : rel.replace(/\.d\.ts$|\.js$/, '.ts');
    if (!fs.existsSync(path.join(SRC, source))) orphans.push(rel);
  }
  expect(files.length).toBeGreaterThan(50);
  expect(orphans).toEqual([]);
});
