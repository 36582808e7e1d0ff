/**
 * `verify --runtime onnxruntime`: the model exported to ONNX in memory (the float64 graph `digitkit
 * export --onnx` writes by default) and run by onnxruntime-node on the graph's input, the contract's
 * x (pixel * scale, or (v - offset) * scale) as float32. Loads no JavaScript module.
 */
import { decodeBase64, type RawModel } from '../../core/index.js';
import { modelToOnnx, ONNX_INPUT, ONNX_OUTPUT } from '../../onnx/export.js';
import { loadOnnxRuntime, runOnnxGraph } from './ort.js';
import type { RuntimeAdapter } from './runtime.js';

/** The graph's input for the cases: x as the contract defines it, rounded to float32. */
export function onnxInput(raw: RawModel, inputs: readonly string[], values = false): Float32Array {
  const input = raw.input;
  const size = input.size;
  const x = new Float32Array(inputs.length * size);
  inputs.forEach((s, i) => {
    const b = decodeBase64(s)!;
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    for (let j = 0; j < size; j++) {
      x[i * size + j] =
        input.kind === 'vector'
          ? ((values ? dv.getFloat64(8 * j, true) : b[j]) - input.offset[j]) * input.scale[j]
          : b[j] * input.scale;
    }
  });
  return x;
}

export const adapter: RuntimeAdapter = {
  name: 'onnxruntime',
  find: () => void loadOnnxRuntime(),
  open: async () => {
    const ort = loadOnnxRuntime();
    return {
      name: 'onnxruntime',
      version: `onnxruntime ${ort.env.versions.common}`,
      loadsModule: false,
      async run(job) {
        const size = job.raw.input.size;
        const classes = job.raw.labels.length;
        const graph = modelToOnnx(job.raw).bytes;
        const x = onnxInput(job.raw, job.inputs, job.values);
        const probs = await runOnnxGraph(graph, { name: ONNX_INPUT, data: x, size }, ONNX_OUTPUT);
        return { probs: job.inputs.map((_, i) => Array.from(probs.subarray(i * classes, (i + 1) * classes))) };
      },
      close: async () => undefined,
    };
  },
};
