import type { Command } from 'commander';
import type { QuantizeReport } from '../quant/quantize.js';
import { DEFAULT_DATA_DIR, DEFAULT_FLOAT_MODEL, orShipped } from '../node/paths.js';
import { int, pct, sci } from '../format.js';
import { usageError } from '../errors.js';
import { InvalidArgumentError } from './commander.js';
import { addModelDataOptions } from './data-options.js';
import { handler } from './context.js';
import { intOption } from './options.js';
import type { DataFormat } from '../data/dataset.js';

interface Opts {
  model?: string;
  in?: string;
  out?: string;
  perChannel?: boolean;
  bits?: number;
  layers?: number[];
  auto?: boolean;
  maxBytes?: number;
  data: string;
  format?: DataFormat;
  labelColumn?: string;
  json?: boolean;
}

const pp = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(2)} pp`;

/** "4,8,8": one width per layer (checked against the model's layer count later, with the model in hand). */
function widthList(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p)))
    throw new InvalidArgumentError(`expected comma-separated bit widths (4, 8 or 32 per layer), got "${value}"`);
  return parts.map(Number);
}

/** The file's quantization in words: "int8", "int4 per-channel", "mixed int4/int8". */
function describe(r: QuantizeReport): string {
  if (r.dtype === 'mixed') return `mixed ${r.layers.map((l) => l.dtype).join('/')}`;
  return `${r.granularity} ${r.dtype}`;
}

export function register(program: Command): void {
  const cmd = program
    .command('quantize')
    .description(
      'Quantize a float model to int8, int4 or mixed precision (symmetric, round half away from zero) and measure what it costs',
    )
    .option('--model <file>', `float32 model to quantize ${orShipped(DEFAULT_FLOAT_MODEL)}`)
    .option('--in <file>', 'the same as --model (its older name)')
    .option(
      '--out <file>',
      'model to write (default: --in with -f32.json -> -int8.json, -int4.json with --bits 4, -mixed.json with --layers or --auto: models/mnist-int8.json for MNIST)',
    )
    // Parsed as any integer so that an unsupported width gets the message listing the supported ones.
    .option('--bits <n>', 'width of every layer: 8 (int8, default) or 4 (int4)', intOption)
    .option('--layers <widths>', 'one width per layer, e.g. 4,8,8 (4, 8, or 32 to keep a layer float32)', widthList)
    .option('--per-channel', 'one scale per output column instead of one per layer')
    .option('--auto', "choose each layer's width (and scale granularity) on the validation split to fit --max-bytes")
    .option('--max-bytes <n>', 'with --auto: the largest model file to write, in bytes', intOption)
    .option(
      '--data <path>',
      'an IDX directory (validation: the training images train held out; test: the t10k files), or an image folder or CSV file (test only: the split the model was trained with, else all of it)',
      DEFAULT_DATA_DIR,
    );
  addModelDataOptions(cmd)
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
        const v = r.validation;
        const name = r.dtype === 'int8' && r.granularity !== 'mixed' ? 'int8' : 'quantized';
        if (r.auto) {
          ctx.out(
            `auto      ${r.auto.tried.length} assignment${r.auto.tried.length === 1 ? '' : 's'} within ${int(r.auto.maxBytes)} bytes measured on validation; best:`,
          );
          for (const t of r.auto.tried.slice(0, 5))
            ctx.out(`          ${pct(t.accuracy)}  ${int(t.bytes).padStart(9)} bytes  ${t.label}`);
        }
        ctx.out(`wrote ${r.out.path} (${describe(r)}, sha256 ${r.out.sha256.slice(0, 12)}…)`);
        ctx.out(
          `size      float ${int(r.in.bytes)} bytes -> ${name} ${int(r.out.bytes)} bytes (${(r.in.bytes / r.out.bytes).toFixed(1)}x smaller)`,
        );
        r.layers.forEach((l, k) => {
          const scale =
            l.scale === undefined
              ? ''
              : typeof l.scale === 'number'
                ? `  scale ${sci(l.scale)}`
                : `  scales ${sci(l.scale.min)}..${sci(l.scale.max)}`;
          const err = l.bits === 32 ? '' : `  |Δw| max ${sci(l.maxAbs)} mean ${sci(l.meanAbs)}`;
          ctx.out(
            `layer ${k}   ${l.rows}x${l.cols}  ${l.dtype}${l.perChannel ? ' per-channel' : ''}  ${int(l.bytes)} bytes${scale}${err}${l.valDeltaPp === null ? '' : `  alone ${pp(l.valDeltaPp)} on validation`}`,
          );
        });
        ctx.out(
          `validation ${v ? `float ${pct(v.float)}, ${name} ${pct(v.quantized)} (${pp(v.deltaPp)}) on ${v.images} held-out training images${v.note ? ` (${v.note})` : ''}` : '- (needs an IDX directory)'}`,
        );
        ctx.out(
          `accuracy  float ${pct(a.float)}, ${name} ${pct(a.quantized)} (${pp(a.deltaPp)}) on ${a.images} test ${r.samples}`,
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
