/**
 * `digitkit import IN.onnx [--out M.json] [--labels FILE] [--input image:WxH] [--input-scale S]
 * [--input-offset O]`: an ONNX MLP (PyTorch or Keras/tf2onnx export) as a float32 digitkit model.
 */
import type { Command } from 'commander';
import type { ImportReport } from '../onnx/import.js';
import { handler } from './context.js';
import { numberOption } from './options.js';

interface Opts {
  out?: string;
  labels?: string;
  input?: string;
  inputScale?: number;
  inputOffset?: number;
  json?: boolean;
}

const n = (x: number) => x.toLocaleString('en-US');

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
      "what the input vector is: image:WxH (default: from the graph's input shape, or 28x28 for 784 inputs)",
    )
    .option(
      '--input-scale <s>',
      'the graph computes on x = (pixel - offset) * scale: the scale (default 1/255)',
      numberOption({ min: 0, exclusiveMin: true }),
    )
    .option('--input-offset <o>', "the offset (default 0; folded into the first layer's bias)", numberOption())
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
        });
        const i = r.input;
        ctx.out(`wrote ${r.out.path} (float32, ${n(r.out.bytes)} bytes, sha256 ${r.out.sha256.slice(0, 12)}…)`);
        ctx.out(
          `from      ${r.onnx.path} (${r.onnx.producer || 'unknown producer'}, opset ${r.onnx.opset}, ${n(r.onnx.bytes)} bytes)`,
        );
        ctx.out(
          `layers    ${r.shape.join('-')}, ReLU between layers, softmax at the end (the graph ends in ${r.output.kind})`,
        );
        ctx.out(
          `input     '${i.graph.name}' [${i.graph.dims.join(', ')}] as a ${i.width}x${i.height} image, x = ${i.offset ? `(pixel - ${i.offset})` : 'pixel'} * ${i.scale} (from ${i.from})`,
        );
        ctx.out(`labels    ${r.labels.join(' ')}`);
        return { json: r };
      }),
    );
}
