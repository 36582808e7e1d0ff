// Arrows point down: every import between src/'s folders (and its top-level files) must be one the
// table below allows, the table itself has no cycle (so no circular import between folders can
// pass), and an import-free module imports nothing at all.
//
// To add a folder (say src/onnx/): add a row `onnx: [...]` listing the units it may import (rows
// above it), and add `onnx` to the rows of other units that may import it (cli and index may import
// every unit already). A module that must stay import-free like the core also goes into IMPORT_FREE
// (src/core-wasm/ imports the core's source, and its build bundles both into one import-free file:
// test/core-wasm.test.ts checks the shipped file). A subfolder (src/verify/runtimes/) belongs to its folder: no row needed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

/** Unit → the units it may import. A unit is a folder of src/, or a file directly in src/ (by name). */
const LAYERS: Record<string, readonly string[]> = {
  // The bottom: each imports no other unit.
  core: [], // the inference core: one file that ships to browsers
  errors: [], // the exit-code table and DigitkitError
  format: [], // numbers as people read them, names as a terminal may show them (shown)
  draw: ['format', 'node'], // SVG and PNG for the report images (eval's charts, explain's panels; sharp via node/optional)
  // The core's forward pass as a WebAssembly SIMD kernel (the core's parser and fallback bundled in).
  'core-wasm': ['core'],
  // Just above the core: inference over many samples on the shipped path.
  infer: ['core', 'core-wasm'],
  // Node adapters: files, paths, images, the static server, Chromium.
  node: ['core', 'errors', 'format'],
  // The capabilities, each with its library, each below the ones that build on it.
  // Image folders become pixels through the core's prepareImage, as predict's pictures do.
  data: ['core', 'errors', 'format', 'node'],
  // What a dataset holds (counts, a contact sheet), read as train reads it.
  inspect: ['errors', 'data', 'node', 'draw'],
  // ONNX in and out: a model file to and from an ONNX graph.
  onnx: ['core', 'errors', 'format', 'node'],
  // train measures a quantization-aware run's written model on the shipped path.
  train: ['core', 'errors', 'format', 'data', 'node', 'infer'],
  // quant holds out train's validation split (the images a model's training did not see).
  quant: ['core', 'errors', 'format', 'data', 'node', 'infer', 'train'],
  // verify --runtime onnxruntime runs the exported graph.
  verify: ['core', 'errors', 'format', 'data', 'node', 'infer', 'onnx'],
  // A vector model's rows come from CSV files, read as data/ reads them.
  predict: ['core', 'core-wasm', 'errors', 'format', 'data', 'node', 'infer'],
  // explain reads images as predict does; its index.ts is the import-free module beside the core.
  explain: ['core', 'errors', 'format', 'node', 'draw', 'predict'],
  // eval draws errors-explained.png with explain's saliency; it chooses a confidence threshold on quant's validation split.
  eval: ['core', 'core-wasm', 'errors', 'format', 'data', 'node', 'infer', 'draw', 'explain', 'quant'],
  // compress: quantizes, trains students, verifies what it writes; its chart uses eval's axis ticks and report folder.
  compress: ['core', 'errors', 'format', 'data', 'node', 'infer', 'draw', 'eval', 'quant', 'train', 'verify'],
  // The page's self-test runs verify's fixtures.
  web: ['core', 'errors', 'node', 'verify'],
  // Composes the capabilities.
  pipeline: ['errors', 'data', 'node', 'train', 'quant', 'verify', 'compress'],
};
// The two tops, which nothing imports: the library's entry (index.ts) and the CLI may import every
// unit above (and a new folder's row above makes it theirs too).
const BELOW_TOPS = Object.keys(LAYERS);
LAYERS.index = BELOW_TOPS;
LAYERS.cli = BELOW_TOPS;

/**
 * Modules that import nothing at all, not even Node's built-ins or a package (they ship to browsers):
 * a folder (ending in /) or a file, relative to src/.
 */
const IMPORT_FREE = ['core/', 'explain/index.ts'];

const SRC = path.join(ROOT, 'src');

interface Import {
  file: string;
  spec: string;
  from: string;
  /** The unit it reaches, or null for a package or a Node built-in. */
  to: string | null;
}

const unitOf = (file: string) => {
  const parts = path.relative(SRC, file).split(path.sep);
  return parts.length === 1 ? parts[0].replace(/\.(ts|js)$/, '') : parts[0];
};

/** Every import, export ... from, dynamic import() and side-effect import in one source file. */
function importsOf(file: string): Import[] {
  const code = fs
    .readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
  const found = code.matchAll(
    /\b(?:import|export)\s[^;'"]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s+['"]([^'"]+)['"]/gm,
  );
  return [...found].map((m) => {
    const spec = m[1] ?? m[2] ?? m[3];
    return {
      file: path.relative(ROOT, file),
      spec,
      from: unitOf(file),
      to: spec.startsWith('.') ? unitOf(path.resolve(path.dirname(file), spec)) : null,
    };
  });
}

/** What breaks the rules: an import the table does not allow, any import in an import-free module. */
function violations(imports: Import[], layers: Record<string, readonly string[]>, importFree: string[]): string[] {
  const bad: string[] = [];
  for (const i of imports) {
    const where = `${i.file}: imports '${i.spec}'`;
    const free = importFree.find((m) => `${i.file}/`.startsWith(`src/${m}`));
    if (free) bad.push(`${where}, but ${free} imports nothing`);
    else if (i.to === i.from) continue;
    else if (i.to !== null && !(layers[i.from] ?? []).includes(i.to))
      bad.push(`${where} (${i.from} -> ${i.to}), which the table in test/layers.test.ts does not allow`);
  }
  return bad;
}

/** A cycle in the table (units in order), or null: with none, no import allowed can close a loop. */
function cycleIn(layers: Record<string, readonly string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const visit = (u: string, trail: string[]): string[] | null => {
    if (state.get(u) === 'done') return null;
    if (state.get(u) === 'open') return [...trail.slice(trail.indexOf(u)), u];
    state.set(u, 'open');
    for (const v of layers[u] ?? []) {
      const c = visit(v, [...trail, u]);
      if (c) return c;
    }
    state.set(u, 'done');
    return null;
  };
  for (const u of Object.keys(layers)) {
    const c = visit(u, []);
    if (c) return c;
  }
  return null;
}

const sources = fs
  .readdirSync(SRC, { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.ts'))
  .map((f) => path.join(SRC, f));
const imports = sources.flatMap(importsOf);

describe("src/'s layers", () => {
  it('every unit of src/ has a row in the table, and every unit a row names exists', () => {
    const units = [...new Set(sources.map(unitOf))].sort();
    expect(units.filter((u) => !(u in LAYERS))).toEqual([]);
    const named = [...new Set(Object.values(LAYERS).flat())];
    expect(named.filter((u) => !units.includes(u))).toEqual([]);
    expect(Object.keys(LAYERS).filter((u) => !units.includes(u))).toEqual([]);
  });

  it('the allowed directions have no cycle', () => {
    expect(cycleIn(LAYERS)).toBeNull();
  });

  it('every import between units points down the table; the core and the explain module import nothing', () => {
    // The walk sees the imports (a walk that found none would pass anything).
    expect(imports.filter((i) => i.to !== null && i.to !== i.from).length).toBeGreaterThan(100);
    expect(imports.some((i) => i.from === 'cli' && i.to === 'pipeline' && i.spec.includes('pipeline'))).toBe(true);
    expect(violations(imports, LAYERS, IMPORT_FREE)).toEqual([]);
  });

  it('the check fails on an upward import, an import from an import-free unit, and a cycle', () => {
    const fake = (from: string, spec: string, to: string | null): Import => ({
      file: `src/${from}/x.ts`,
      spec,
      from,
      to,
    });
    expect(
      violations(
        [
          fake('verify', '../quant/quantize.js', 'quant'),
          fake('node', '../train/config.js', 'train'),
          fake('core', 'node:fs', null),
          fake('core', './other.js', 'core'),
          fake('verify', '../infer/batch.js', 'infer'),
          fake('data', 'node:fs', null),
        ],
        LAYERS,
        IMPORT_FREE,
      ),
    ).toEqual([
      "src/verify/x.ts: imports '../quant/quantize.js' (verify -> quant), which the table in test/layers.test.ts does not allow",
      "src/node/x.ts: imports '../train/config.js' (node -> train), which the table in test/layers.test.ts does not allow",
      "src/core/x.ts: imports 'node:fs', but core/ imports nothing",
      "src/core/x.ts: imports './other.js', but core/ imports nothing",
    ]);
    expect(cycleIn({ ...LAYERS, web: [...LAYERS.web, 'verify'], verify: [...LAYERS.verify, 'web'] })).toEqual([
      'verify',
      'web',
      'verify',
    ]);
    // The import walk reads what a file says, comments aside.
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-layers-')), 'probe.ts');
    try {
      fs.writeFileSync(
        file,
        [
          "import type { A } from '../core/index.js';",
          "export { b } from './b.js';",
          "const c = await import('../node/paths.js');",
          "import '../errors.js';",
          "import {\n  d,\n  e,\n} from '../data/load.js';",
          "// import { f } from '../cli/main.js';",
          "/* import('../web/site.js') */",
        ].join('\n'),
      );
      expect(importsOf(file).map((i) => i.spec)).toEqual([
        '../core/index.js',
        './b.js',
        '../node/paths.js',
        '../errors.js',
        '../data/load.js',
      ]);
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });
});
