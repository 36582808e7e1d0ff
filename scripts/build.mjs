// Build: start from an empty dist/, compile src/ to it (with .d.ts), then re-emit the browser core on its
// own, type-checked with no Node types, stripped of comments and of whitespace, local variables renamed
// (terser; every function keeps its name: the module ships to browsers under a 5 KB gzipped budget, and
// stack traces stay readable), and copy the web page's files (src/web/assets) as they
// are; then the trainer's AssemblyScript SIMD kernels (src/train/wasm → dist/train/kernels.wasm, with
// asc from node_modules: offline, npm packages only). `npm ci` runs this through `prepare`.
import { execFileSync } from 'node:child_process';
import fs, { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const run = (args) => execFileSync(process.execPath, [tsc, ...args], { stdio: 'inherit' });

// dist/ starts empty, so nothing compiled from a deleted or moved source survives in it. The kernels
// are kept aside (rename keeps their mtime): asc takes seconds, and they are rebuilt below anyway
// whenever a source is newer.
const WASM_OUT = 'dist/train/kernels.wasm';
const kept = fs.existsSync(WASM_OUT) ? `.kernels.wasm.build-${process.pid}` : null;
if (kept) fs.renameSync(WASM_OUT, kept);
rmSync('dist', { recursive: true, force: true });
if (kept) {
  fs.mkdirSync(path.dirname(WASM_OUT), { recursive: true });
  fs.renameSync(kept, WASM_OUT);
}

try {
  run(['-p', 'tsconfig.json']);
  run(['-p', 'src/core/tsconfig.json']);
  run(['-p', 'src/explain/tsconfig.json']);
} catch {
  console.error('build failed (see the TypeScript errors above)');
  process.exit(1);
}
try {
  const { minify } = await import('terser');
  // The core and the explain module (import-free, opt-in, 2 KB gzipped budget) ship the same way.
  for (const file of ['dist/core/index.js', 'dist/explain/index.js']) {
    const { code } = await minify(fs.readFileSync(file, 'utf8'), {
      // module: false keeps top-level function names (module: true would rename them too); locals are renamed.
      module: false,
      compress: false,
      mangle: true,
      format: { comments: false, semicolons: false },
    });
    fs.writeFileSync(file, code + '\n');
  }
  cpSync('src/web/assets', 'dist/web/assets', { recursive: true });
} catch (err) {
  console.error(`build failed: ${err.message}`);
  process.exit(1);
}

// The kernels: rebuilt only when a source (their ABI file and this script included) is newer than the
// .wasm, since asc takes seconds.
const WASM_DIR = 'src/train/wasm';
const sources = [
  ...fs.readdirSync(WASM_DIR).map((f) => path.join(WASM_DIR, f)),
  'src/train/wasm-abi.ts',
  'scripts/build.mjs',
];
const newest = Math.max(...sources.map((f) => fs.statSync(f).mtimeMs));
if (!fs.existsSync(WASM_OUT) || fs.statSync(WASM_OUT).mtimeMs < newest) {
  const { default: asc } = await import('assemblyscript/asc');
  const { error, stderr } = await asc.main([
    path.join(WASM_DIR, 'train.ts'),
    '-o',
    WASM_OUT,
    '-O3',
    '--noAssert',
    '--runtime',
    'stub',
    '--use',
    'abort=',
    // f64 exp/log come from the host's Math (no lookup tables as data segments in the shared memory)
    '--use',
    'Math=JSMath',
    '--enable',
    'simd,threads',
    '--importMemory',
    '--sharedMemory',
    '--maximumMemory',
    '65536',
  ]);
  if (error) {
    console.error(stderr.toString());
    console.error(`build failed: asc could not compile ${WASM_DIR} (${error.message})`);
    process.exit(1);
  }
}
