/**
 * `digitkit import IN.onnx [--out M.json] [--labels FILE] [--input image:WxH[xC]|vector]
 * [--input-scale S] [--input-offset O] [--channels-first] [--preprocess digit|resize]`: an ONNX MLP
 * (PyTorch or Keras/tf2onnx export) as a float32 digitkit model.
 */
import type { Command } from 'commander';
import type { ImportReport } from '../onnx/import.js';
import { handler } from './context.js';
import { InvalidArgumentError } from './commander.js';
import { choiceOption } from './options.js';

interface Opts {
  out?: string;
  labels?: string;
  input?: string;
  inputScale?: number[];
  inputOffset?: number[];
  channelsFirst?: boolean;
  preprocess?: 'digit' | 'resize';
  json?: boolean;
}

const n = (x: number) => x.toLocaleString('en-US');

/** "0.5" or "1,2,3": one number or a comma-separated list. */
function numbers(value: string): number[] {
  const list = value.split(',').map((v) => Number(v.trim()));
  if (!value.trim() || list.some((v) => !Number.isFinite(v)))
    throw new InvalidArgumentError(`expected a number or comma-separated numbers, got "${value}"`);
  return list;
}

export function register(program: Command): void {
  program
    .command('import')
    .description(
      'Import an ONNX MLP (torch.onnx.export: Gemm + Relu; Keras/tf2onnx: MatMul + Add + Relu) as a float32 digitkit model',
    )
    .argument('<onnx>', 'ONNX file to read')
    .option('--out <file>', 'model file to write (default: the ONNX file name with .json)')
    .option('--labels <file>', "class names, one per line or a JSON array (default: the file's own, else 0..K-1)")
    .option(
      '--input <kind>',
      "what the input is: image:WxH, image:WxHxC or vector (default: from the graph's input shape; 784 inputs: image:28x28; else vector)",
    )
    .option(
      '--input-scale <s>',
      'the graph computes on x = (raw - offset) * scale: the scale (image default 1/255; vector: one or one per feature, default 1)',
      numbers,
    )
    .option(
      '--input-offset <o>',
      "the offset (default 0): one number, one per channel (folded into the first layer's bias) or one per feature",
      numbers,
    )
    .option('--channels-first', 'a flat 3-channel image input holds the channels one after another (CHW), not RGBRGB…')
    .option(
      '--preprocess <mode>',
      'how pictures become the image input: digit (MNIST-style) or resize (default: digit for 1 channel, resize for 3)',
      choiceOption(['digit', 'resize'] as const),
    )
    .option('--json', 'print one JSON document')
    .action(
      handler<Opts>(async (opts, ctx, args) => {
        const { runImport } = await import('../onnx/import.js');
        const r: ImportReport = await runImport({
          onnx: args[0],
          out: opts.out,
          labels: opts.labels,
          input: opts.input,
          scale: opts.inputScale,
          offset: opts.inputOffset,
          channelsFirst: opts.channelsFirst,
          preprocess: opts.preprocess,
        });
        const i = r.input;
        const dims = `'${i.graph.name}' [${i.graph.dims.join(', ')}]`;
        const short = (v: number[]) => (v.every((x) => x === v[0]) ? String(v[0]) : `[${v.length} values]`);
        ctx.out(`wrote ${r.out.path} (float32, ${n(r.out.bytes)} bytes, sha256 ${r.out.sha256.slice(0, 12)}…)`);
        ctx.out(
          `from      ${r.onnx.path} (${r.onnx.producer || 'unknown producer'}, opset ${r.onnx.opset}, ${n(r.onnx.bytes)} bytes)`,
        );
        ctx.out(
          `layers    ${r.shape.join('-')}, ReLU between layers, softmax at the end (the graph ends in ${r.output.kind})`,
        );
        ctx.out(
          i.kind === 'image'
            ? `input     ${dims} as a ${i.width}x${i.height}${i.channels === 3 ? ' RGB' : ''} image (${i.preprocess}), x = ${i.offset.some((o) => o !== 0) ? `(pixel - ${short(i.offset)})` : 'pixel'} * ${i.scale} (from ${i.from})`
            : `input     ${dims} as ${i.size} features, x = (v - ${short(i.offset)}) * ${short(i.scale)} (from ${i.from})`,
        );
        ctx.out(`labels    ${r.labels.join(' ')}`);
        return { json: r };
      }),
    );
}
