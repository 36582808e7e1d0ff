/** `digitkit inspect PATH`: a dataset's format, shape, per-class counts and, for images, a contact sheet. */
import type { Command } from 'commander';
import type { InspectReport } from '../inspect/inspect.js';
import { DEFAULT_DATA_DIR } from '../node/paths.js';
import { handler, type CommandContext } from './context.js';
import { addDataOptions, dataOptionsFrom, type DataFlags } from './data-options.js';
import { intOption } from './options.js';
import { createBar, type Bar } from './progress.js';

interface Flags extends DataFlags {
  sheet?: string;
  perClass: number;
  json?: boolean;
}

const int = (x: number) => x.toLocaleString('en-US');
const fmt = (x: number) =>
  Math.abs(x) >= 1e5 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(3) : String(Number(x.toPrecision(5)));

function print(ctx: CommandContext, r: InspectReport): void {
  const c = ctx.color;
  const named = r.named ? ` (recognised by SHA-256: ${r.named})` : '';
  ctx.out(
    `data      ${r.path}: ${r.source === 'idx' ? 'IDX directory' : r.source === 'csv' ? 'CSV file' : 'image folder'}${named}`,
  );
  ctx.out(`input     ${r.shape}${r.input.kind === 'image' ? ` (preprocess "${r.input.preprocess}")` : ''}`);
  const split = 'fraction' in r.split ? `a seeded ${Math.round(r.split.fraction * 100)}% of each class` : r.split.from;
  ctx.out(`samples   ${int(r.train)} training, ${int(r.test)} test (${split}); ${r.classes.length} classes`);
  if (r.skipped.length) {
    ctx.out(c.yellow(`skipped   ${r.skipped.length} file${r.skipped.length === 1 ? '' : 's'}:`));
    for (const s of r.skipped.slice(0, 20)) ctx.out(c.yellow(`  ${s.file}: ${s.reason}`));
    if (r.skipped.length > 20) ctx.out(c.yellow(`  … and ${r.skipped.length - 20} more (all in --json)`));
  }
  ctx.out('');
  const total = r.train || 1;
  const most = Math.max(...r.classes.map((k) => k.train), 1);
  const w = Math.max(5, ...r.classes.map((k) => k.label.length));
  ctx.out(c.bold(`${'class'.padEnd(w)}  ${'train'.padStart(7)}  ${'test'.padStart(6)}  ${'share'.padStart(6)}`));
  for (const k of r.classes) {
    const bar = '█'.repeat(Math.round((20 * k.train) / most));
    ctx.out(
      `${k.label.padEnd(w)}  ${int(k.train).padStart(7)}  ${int(k.test).padStart(6)}  ${((100 * k.train) / total).toFixed(1).padStart(5)}%  ${c.dim(bar)}`,
    );
  }
  const counts = r.classes.map((k) => k.train);
  const ratio = Math.max(...counts) / Math.max(1, Math.min(...counts));
  if (ratio >= 2)
    ctx.out(c.yellow(`imbalanced: the largest class has ${ratio.toFixed(1)}x the samples of the smallest`));
  if (r.features?.length) {
    ctx.out('');
    const fw = Math.max(7, ...r.features.map((f) => f.name.length));
    ctx.out(c.bold(`${'feature'.padEnd(fw)}  ${'min'.padStart(10)}  ${'mean'.padStart(10)}  ${'max'.padStart(10)}`));
    for (const f of r.features.slice(0, 40))
      ctx.out(
        `${f.name.padEnd(fw)}  ${fmt(f.min).padStart(10)}  ${fmt(f.mean).padStart(10)}  ${fmt(f.max).padStart(10)}`,
      );
    if (r.features.length > 40) ctx.out(c.dim(`… ${r.features.length - 40} more features (all in --json)`));
  }
  if (r.sheet) {
    ctx.out();
    ctx.out(`sheet     ${r.sheet.path} (${r.sheet.perClass} per class)`);
  }
}

export function register(program: Command): void {
  addDataOptions(
    program
      .command('inspect')
      .description(
        'What a dataset holds, read as train reads it: format, shape, samples per split and class, a contact sheet',
      )
      .argument('[path]', `an IDX directory, an image folder or a CSV/TSV file (default ${DEFAULT_DATA_DIR})`),
  )
    .option(
      '--sheet <file>',
      'images: write a contact sheet PNG (the first samples of each class, as the model sees them)',
    )
    .option('--per-class <n>', 'samples per class on the sheet', intOption, 10)
    .option('--json', 'print one JSON document')
    .action(
      handler<Flags>(async (f, ctx, args) => {
        const { runInspect } = await import('../inspect/inspect.js');
        let bar: Bar | null = null;
        const r = await runInspect(args[0] ?? DEFAULT_DATA_DIR, {
          ...dataOptionsFrom(f),
          sheet: f.sheet,
          perClass: f.perClass,
          onProgress: (done, total) => {
            if (total < 200) return;
            bar ??= createBar(ctx, 'reading pictures [{bar}] {value}/{total}', total);
            bar?.update(done);
            if (done === total) bar?.stop();
          },
        });
        print(ctx, r);
        return { json: r };
      }),
    );
}
