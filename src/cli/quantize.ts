import type { Command } from 'commander';
import type { QuantizeReport } from '../quant/quantize.js';
import { DEFAULT_DATA_DIR, DEFAULT_FLOAT_MODEL, DEFAULT_MODEL, orShipped } from '../node/paths.js';
import { int, pct, sci } from '../format.js';
import { handler } from './context.js';

interface Opts {
  in?: string;
  out: string;
  perChannel?: boolean;
  data: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('quantize')
    .description('Quantize a float model to int8 (symmetric, round half away from zero) and measure what it costs')
    .option('--in <file>', `float32 model to quantize ${orShipped(DEFAULT_FLOAT_MODEL)}`)
    .option('--out <file>', 'int8 model to write', DEFAULT_MODEL)
    .option('--per-channel', 'one scale per output column instead of one per layer')
    .option('--data <dir>', 'MNIST directory (the t10k files measure accuracy)', DEFAULT_DATA_DIR)
    .option('--json', 'print one JSON document')
    .action(
      handler<Opts>(async (opts, ctx) => {
        const { runQuantize } = await import('../quant/quantize.js');
        const r: QuantizeReport = await runQuantize(opts);
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
          `accuracy  float ${pct(a.float)}, int8 ${pct(a.int8)} (${a.deltaPp >= 0 ? '+' : ''}${a.deltaPp.toFixed(2)} pp) on ${a.images} test images`,
        );
        ctx.out(`agreement ${pct(a.agreement)} of test images get the same class from both`);
        if (!r.targets.accuracyOk)
          ctx.out(color.yellow(`warning: int8 accuracy is more than ${r.targets.maxDropPp} pp below float`));
        if (!r.targets.sizeOk)
          ctx.out(color.yellow(`warning: ${r.out.path} is larger than ${int(r.targets.maxBytes)} bytes`));
        return { json: r };
      }),
    );
}
