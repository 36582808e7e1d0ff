// Build: start from an empty dist/, compile src/ to it (with .d.ts), then re-emit the browser core on its
// own, type-checked with no Node types, stripped of comments and of whitespace, local variables renamed
// (terser; every function keeps its name: the module ships to browsers under a 5 KB gzipped budget, and
// stack traces stay readable), and copy the web page's files (src/web/assets) as they
// are; then the trainer's AssemblyScript SIMD kernels (src/train/wasm → dist/train/kernels.wasm, with
// asc from node_modules: offline, npm packages only), and the inference kernel (src/core-wasm/wasm →
// dist/core-wasm/forward.wasm) bundled with the core-wasm module and the core's parser into one
// import-free file, dist/core-wasm/index.js (rolldown). `npm ci` runs this through `prepare`.
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
const FORWARD_OUT = 'dist/core-wasm/forward.wasm';
const kept = [WASM_OUT, FORWARD_OUT]
  .filter((f) => fs.existsSync(f))
  .map((f) => [f, `.${path.basename(f)}.build-${process.pid}`]);
for (const [f, aside] of kept) fs.renameSync(f, aside);
rmSync('dist', { recursive: true, force: true });
for (const [f, aside] of kept) {
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.renameSync(aside, f);
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
  // The page's files (src/web/assets, readable there) ship minified the same way: a browser with wasm
  // SIMD loads them with digitkit-core-wasm.js and the model, all within the page's 200,000-byte budget.
  cpSync('src/web/assets', 'dist/web/assets', { recursive: true });
  for (const name of ['app.js', 'engine.js']) {
    const file = `dist/web/assets/${name}`;
    const { code } = await minify(fs.readFileSync(file, 'utf8'), {
      module: true, // top-level await; exported names are kept
      compress: false,
      mangle: true,
      format: { comments: false, semicolons: false },
    });
    fs.writeFileSync(file, code + '\n');
  }
  fs.writeFileSync('dist/web/assets/style.css', minifyCss(fs.readFileSync('dist/web/assets/style.css', 'utf8')));
} catch (err) {
  console.error(`build failed: ${err.message}`);
  process.exit(1);
}

/**
 * CSS without comments and without the whitespace nothing needs (quoted strings kept as written): the
 * page's one stylesheet, which uses no construct where a dropped space would change its meaning
 * (spaces stay between words, e.g. descendant selectors and value lists).
 */
function minifyCss(css) {
  return (
    css
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .split(/('[^']*'|"[^"]*")/)
      .map((part, i) =>
        i % 2
          ? part
          : part
              .replace(/\s+/g, ' ')
              .replace(/ ?([{};,>]) ?/g, '$1')
              .replace(/: /g, ':')
              .replace(/;}/g, '}'),
      )
      .join('')
      .trim() + '\n'
  );
}

// The kernels: rebuilt only when a source (an ABI file and this script included) is newer than the
// .wasm, since asc takes seconds.
async function assemble(dir, entry, out, flags, extra = []) {
  const sources = [...fs.readdirSync(dir).map((f) => path.join(dir, f)), ...extra, 'scripts/build.mjs'];
  const newest = Math.max(...sources.map((f) => fs.statSync(f).mtimeMs));
  if (fs.existsSync(out) && fs.statSync(out).mtimeMs >= newest) return;
  const { default: asc } = await import('assemblyscript/asc');
  const { error, stderr } = await asc.main([path.join(dir, entry), '-o', out, '-O3', '--noAssert', ...flags]);
  if (error) {
    console.error(stderr.toString());
    console.error(`build failed: asc could not compile ${dir} (${error.message})`);
    process.exit(1);
  }
}
await assemble(
  'src/train/wasm',
  'train.ts',
  WASM_OUT,
  [
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
  ],
  ['src/train/wasm-abi.ts'],
);
// The inference kernel imports nothing but its memory (no runtime, no data segments, exp its own);
// the declared maximum lets the loader mark the memory shared for threads (see src/core-wasm/index.ts).
await assemble('src/core-wasm/wasm', 'forward.ts', FORWARD_OUT, [
  '--runtime',
  'stub',
  '--use',
  'abort=',
  '--enable',
  'simd',
  '--importMemory',
  '--initialMemory',
  '1',
  '--maximumMemory',
  '65536',
]);

// dist/core-wasm/index.js as shipped: tsc's output bundled with the core it imports, the kernel's
// bytes put in place of src/core-wasm/kernel.ts's empty string, minified as the core is.
try {
  const { rolldown } = await import('rolldown');
  const kernelJs = path.resolve('dist/core-wasm/kernel.js');
  const base64 = fs.readFileSync(FORWARD_OUT).toString('base64');
  const bundle = await rolldown({
    input: 'dist/core-wasm/index.js',
    platform: 'neutral',
    logLevel: 'warn',
    onLog: (level, log) => {
      throw new Error(`rolldown ${level}: ${log.message}`);
    },
    plugins: [
      {
        name: 'digitkit-kernel',
        load: (id) =>
          path.resolve(id) === kernelJs ? `export const KERNEL_BASE64 = ${JSON.stringify(base64)};` : null,
      },
    ],
  });
  const { output } = await bundle.generate({ format: 'es' });
  await bundle.close();
  const { minify } = await import('terser');
  const { code } = await minify(output[0].code, {
    // As the core: local names renamed, top-level names (every function's) kept.
    module: false,
    compress: false,
    mangle: true,
    format: { comments: false, semicolons: false },
  });
  fs.writeFileSync('dist/core-wasm/index.js', code + '\n');
  rmSync('dist/core-wasm/kernel.js', { force: true });
  rmSync('dist/core-wasm/kernel.d.ts', { force: true });
} catch (err) {
  console.error(`build failed: bundling dist/core-wasm/index.js (${err.message})`);
  process.exit(1);
}

// dist/cli/hot.js: the CLI's hot path (`predict`, `--version`; src/cli/hot.ts) with every module it
// imports, commander included, in one file: Node then loads 1 file where it loaded 24 modules and 7 of
// commander's (README, "Performance": predict's cold start). Not minified: stack traces stay readable.
// Each bundled module keeps seeing its own location as import.meta.url (paths.ts finds the package's
// files from it, threads.ts its worker), and commander loads node:child_process, which digitkit never
// needs (it runs no executable subcommands), only when it is used.
try {
  const { rolldown } = await import('rolldown');
  const outDir = path.resolve('dist/cli');
  const commanderShim = path.resolve('dist/cli/commander.js');
  const commandJs = path.resolve('node_modules/commander/lib/command.js');
  const CHILD_PROCESS = "const childProcess = require('node:child_process');";
  const bundle = await rolldown({
    input: 'dist/cli/hot.js',
    platform: 'node',
    logLevel: 'warn',
    // chalk and sharp stay packages of their own: loaded only when colour is on / for other formats than PNG.
    external: [/^node:/, 'chalk', 'sharp'],
    onLog: (level, log) => {
      throw new Error(`rolldown ${level}: ${log.message}`);
    },
    plugins: [
      {
        name: 'digitkit-hot',
        // commander's own modules instead of dist/cli/commander.js's require() of them.
        load: (id) =>
          path.resolve(id) === commanderShim
            ? "export { Command, CommanderError, InvalidArgumentError, Option } from 'commander';"
            : null,
        transform(code, id) {
          const file = path.resolve(id);
          if (file === commandJs) {
            if (!code.includes(CHILD_PROCESS))
              throw new Error(`${id} no longer loads node:child_process as expected: update scripts/build.mjs`);
            return code.replace(
              CHILD_PROCESS,
              "const childProcess = { spawn: (...a) => require('node:child_process').spawn(...a) };",
            );
          }
          if (!file.startsWith(path.resolve('dist') + path.sep) || !code.includes('import.meta.url')) return null;
          const rel = path.relative(outDir, file).split(path.sep).join('/');
          return code.replaceAll('import.meta.url', `new URL(${JSON.stringify(rel)}, import.meta.url).href`);
        },
      },
    ],
  });
  // One file, rarer paths too (CSV rows, worker threads, --save-preprocessed): their modules are
  // evaluated only when reached, and load their heavier built-ins (node:crypto, node:worker_threads) then.
  await bundle.write({ file: 'dist/cli/hot.js', format: 'es', codeSplitting: false });
  await bundle.close();
} catch (err) {
  console.error(`build failed: bundling dist/cli/hot.js (${err.message})`);
  process.exit(1);
}
