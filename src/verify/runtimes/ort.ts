/**
 * onnxruntime-node, an optional dependency: loaded only by the commands that run ONNX graphs, from
 * digitkit's own node_modules or the project's. Missing (or a binding that does not load on this
 * platform) is exit 4 naming the install command.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { DigitkitError, ExitCode } from '../../errors.js';

export const ORT_INSTALL = 'ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@~1.30.0';

export type Ort = typeof import('onnxruntime-node');

let ort: Ort | undefined;

/** The onnxruntime-node module, or exit 4 with how to install it. */
export function loadOnnxRuntime(): Ort {
  if (ort) return ort;
  const from = [import.meta.url, path.join(process.cwd(), 'package.json')];
  let reason = '';
  for (const base of from) {
    try {
      ort = createRequire(base)('onnxruntime-node') as Ort;
      return ort;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code !== 'MODULE_NOT_FOUND' || !String(e.message).includes("'onnxruntime-node'"))
        reason ||= e.message.split('\n')[0];
    }
  }
  throw new DigitkitError(
    ExitCode.unavailable,
    reason
      ? `onnxruntime-node does not load here (${reason}); reinstall it with \`${ORT_INSTALL}\``
      : `onnxruntime-node is not installed; install it with \`${ORT_INSTALL}\` (the variable skips its optional CUDA download)`,
  );
}

/**
 * Run a graph with one float32 input `[n, size]` and one output; returns the output's values as
 * float64 (exact, whatever the output's float type).
 */
export async function runOnnxGraph(
  bytes: Uint8Array,
  input: { name: string; data: Float32Array; size: number },
  output: string,
): Promise<Float64Array> {
  const { InferenceSession, Tensor } = loadOnnxRuntime();
  // Warnings from the graph loader would interleave with the command's own output.
  const session = await InferenceSession.create(bytes, { logSeverityLevel: 3 });
  try {
    const n = input.data.length / input.size;
    const result = await session.run({ [input.name]: new Tensor('float32', input.data, [n, input.size]) });
    return Float64Array.from(result[output].data as Float32Array | Float64Array);
  } finally {
    await session.release();
  }
}
