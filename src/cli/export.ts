/**
 * `digitkit export --onnx OUT.onnx [--model M] [--precision float64|float32]`: the model as an ONNX
 * graph (see src/onnx/export.ts for what the graph holds and why float64 is the default).
 */
import type { Command } from 'commander';
import type { ExportReport, OnnxPrecision } from '../onnx/export.js';
import { usageError } from '../errors.js';
import { DEFAULT_MODEL, orShipped } from '../node/paths.js';
import { handler } from './context.js';
import { choiceOption } from './options.js';

interface Opts {
  onnx?: string;
  model?: string;
  precision: OnnxPrecision;
  json?: boolean;
}

const n = (x: number) => x.toLocaleString('en-US');

export function register(program: Command): void {
  program
    .command('export')
    .description(
      'Export the model as a standard ONNX graph (MatMul + Add + Relu per layer, Softmax; integer weights behind DequantizeLinear)',
    )
    .option('--onnx <file>', 'ONNX file to write')
    .option('--model <file>', `model to export ${orShipped(DEFAULT_MODEL)}`)
    .option(
      '--precision <p>',
      'arithmetic of the graph: float64 (matches the fixtures to 1e-6) or float32 (QDQ for float-only runtimes)',
      choiceOption<OnnxPrecision>(['float64', 'float32']),
      'float64',
    )
    .option('--json', 'print one JSON document')
    .action(
      handler<Opts>(async (opts, ctx) => {
        if (!opts.onnx) throw usageError('--onnx <file> is required (the ONNX file to write)');
        const { runExport } = await import('../onnx/export.js');
        const r: ExportReport = await runExport({ model: opts.model, onnx: opts.onnx, precision: opts.precision });
        ctx.out(`wrote ${r.out.path} (${n(r.out.bytes)} bytes; the model file is ${n(r.model.bytes)})`);
        ctx.out(`model     ${r.model.path} (${r.model.dtype}, sha256 ${r.model.sha256.slice(0, 12)}…)`);
        ctx.out(`graph     opset ${r.opset}, ${r.precision} arithmetic; weights ${r.weights.join(', ')}`);
        ctx.out(
          `input     '${r.input.name}' ${r.input.type} [${r.input.shape.join(', ')}], already scaled as the model says`,
        );
        ctx.out(
          `output    '${r.output.name}' ${r.output.type} [${r.output.shape.join(', ')}], classes ${r.labels.join(' ')}`,
        );
        return { json: r };
      }),
    );
}
