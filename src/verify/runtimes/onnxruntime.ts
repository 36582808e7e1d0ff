/**
 * `verify --runtime onnxruntime`: the model exported to ONNX in memory (float64 graph, as `digitkit
 * export --onnx` writes by default) and run by onnxruntime-node on x = pixel * scale as float32, the
 * graph's input. Loads no JavaScript module.
 */
import { decodeBase64 } from '../../core/index.js';
import { modelToOnnx, ONNX_INPUT, ONNX_OUTPUT } from '../../onnx/export.js';
import { loadOnnxRuntime, runOnnxGraph } from './ort.js';
import type { RuntimeAdapter } from './runtime.js';

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
        const size = job.raw.layers[0].rows;
        const classes = job.raw.labels.length;
        const x = new Float32Array(job.pixels.length * size);
        job.pixels.forEach((p, i) => {
          const px = decodeBase64(p)!;
          for (let j = 0; j < size; j++) x[i * size + j] = px[j] * job.raw.input.scale;
        });
        const graph = modelToOnnx(job.raw).bytes;
        const probs = await runOnnxGraph(graph, { name: ONNX_INPUT, data: x, size }, ONNX_OUTPUT);
        return job.pixels.map((_, i) => Array.from(probs.subarray(i * classes, (i + 1) * classes)));
      },
      close: async () => undefined,
    };
  },
};
