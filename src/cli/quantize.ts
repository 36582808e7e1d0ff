import type { Command } from 'commander';
import type { QuantizeReport } from '../quant/quantize.js';
import { DEFAULT_DATA_DIR, DEFAULT_FLOAT_MODEL, DEFAULT_MODEL, orShipped } from '../node/paths.js';
import { int, pct, sci } from '../format.js';
import { usageError } from '../errors.js';
import { handler } from './context.js';
import { choiceOption } from './options.js';
import { DATA_FORMATS, type DataFormat } from '../data/dataset.js';

interface Opts {
  model?: string;
  in?: string;
  out?: string;
  perChannel?: boolean;
  data: string;
  format?: DataFormat;
  labelColumn?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('quantize')
    .description('Quantize a float model to int8 (symmetric, round half away from zero) and measure what it costs')
    .option('--model <file>', `float32 model to quantize ${orShipped(DEFAULT_FLOAT_MODEL)}`)
    .option('--in <file>', 'the same as --model (its older name)')
    .option('--out <file>', `int8 model to write (default: --model with -f32.json -> -int8.json: ${DEFAULT_MODEL})`)
    .option('--per-channel', 'one scale per output column instead of one per layer')
    .option(
      '--data <path>',
      'test data measuring accuracy: an IDX directory (its t10k files), an image folder or a CSV file (the test split the model was trained with, else all of it)',
      DEFAULT_DATA_DIR,
    )
    .option('--format <format>', 'idx | folder | csv (default: detected)', choiceOption(DATA_FORMATS))
    .option('--label-column <name>', 'CSV: the label column (default: the one the model was trained with, or "label")')
    .option('--json', 'print one JSON document')
    .action(
      handler<Opts>(async (opts, ctx) => {
        const { runQuantize } = await import('../quant/quantize.js');
        const { model, ...rest } = opts;
        if (model !== undefined && opts.in !== undefined && model !== opts.in)
          throw usageError('--model and --in both name the model to quantize (--in is its older name): give one');
        const r: QuantizeReport = await runQuantize({ ...rest, in: model ?? opts.in });
        const { color } = ctx;
        const a = r.accuracy;
        ctx.out(`wrote ${r.out.path} (${r.granularity} int8, sha256 ${r.out.sha256.slice(0, 12)}…)`);
        ctx.out(
          `size      float ${int(r.in.bytes)} bytes -> int8 ${int(r.out.bytes)} bytes (${(r.in.bytes / r.out.bytes).toFixed(1)}x smaller)`,
        );
        r.layers.forEach((l, k) => {
          const scale =
            typeof l.scale === 'number' ? `scale ${sci(l.scale)}` : `scales ${sci(l.scale.min)}..${sci(l.scale.max)}`;
          ctx.out(`layer ${k}   ${l.rows}x${l.cols}  ${scale}  |Δw| max ${sci(l.maxAbs)} mean ${sci(l.meanAbs)}`);
        });
        ctx.out(
          `accuracy  float ${pct(a.float)}, int8 ${pct(a.int8)} (${a.deltaPp >= 0 ? '+' : ''}${a.deltaPp.toFixed(2)} pp) on ${a.images} test ${r.samples}`,
        );
        ctx.out(`agreement ${pct(a.agreement)} of test ${r.samples} get the same class from both`);
        if (!r.targets.accuracyOk)
          ctx.out(color.yellow(`warning: int8 accuracy is more than ${r.targets.maxDropPp} pp below float`));
        if (!r.targets.sizeOk && r.targets.maxBytes !== null)
          ctx.out(color.yellow(`warning: ${r.out.path} is larger than ${int(r.targets.maxBytes)} bytes`));
        return { json: r };
      }),
    );
}
