/**
 * `digitkit export --onnx`: a digitkit model as a standard ONNX graph. MatMul + Add per layer, Relu
 * between layers, Softmax at the end; input `[batch, size]` float32 already scaled as the model
 * contract says (x = pixel * scale, or (v - offset) * scale for vector models), output the class
 * probabilities. The labels, the input description and the model's meta go in metadata_props.
 *
 * Two precisions:
 * - "float64" (the default, and what `verify --runtime onnxruntime` runs): the input is cast to
 *   double and every layer computes in double, as the contract's float64 reference does.
 *   onnxruntime's float32 kernels alone are 4e-7 to 6.4e-7 away from the fixtures, too close to their 1e-6
 *   tolerance to call a pass (and its graph optimizer turns a float32 DequantizeLinear + MatMul
 *   into an integer MatMul on quantized activations, ~6e-3 away).
 * - "float32": the textbook QDQ graph (DequantizeLinear with the float32 scales, float32 MatMul),
 *   for runtimes without double kernels; not within the fixtures' tolerance.
 *
 * Quantized weights stay integer initializers (one byte per int8 weight, half a byte per int4 one)
 * behind a DequantizeLinear with the layer's scales (per tensor, or per output column on axis 1).
 * For float64, the DequantizeLinear scale is the layer's scale rounded to 17 significant bits, so
 * that q * scale17 (at most 7 + 17 bits) is exact in float32; the remainder scale / scale17 is
 * applied in double after the Cast: the weights are the contract's q * scale to within an ulp of
 * float64. The remainder is always a per-column vector, even for one scale: onnxruntime folds a
 * scalar Mul next to a MatMul into the MatMul's float32 `alpha` (MatMulScaleFusion), which would
 * round the scale to float32 again.
 */
import { createRequire } from 'node:module';
import type { RawModel } from '../core/index.js';
import { checkOutput, writeFileAtomic } from '../node/atomic.js';
import { readModelFile } from '../node/model-file.js';
import { defaultModel } from '../node/paths.js';
import {
  AttrType,
  DataType,
  encodeOnnx,
  float32Bytes,
  float64Bytes,
  rawTensor,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from './proto.js';

export type OnnxPrecision = 'float64' | 'float32';

/** The graph's input and output names (what a runtime feeds and fetches). */
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'probabilities';
/** Keys of the metadata_props digitkit writes (and `import` reads back). */
export const META_KEYS = {
  format: 'digitkit.format',
  version: 'digitkit.version',
  dtype: 'digitkit.dtype',
  input: 'digitkit.input',
  labels: 'digitkit.labels',
  meta: 'digitkit.meta',
  precision: 'digitkit.precision',
  source: 'digitkit.source_sha256',
} as const;

const VERSION: string = createRequire(import.meta.url)('../../package.json').version;

/**
 * `s` rounded to 17 significant bits when q * s17 is then exact in float32 for |q| <= 127 (a normal
 * float32 product below 2^128), else 1 (the whole scale is then applied in double).
 */
export function scale17(s: number): number {
  if (!(s >= 2 ** -126 && s < 2 ** 120)) return 1;
  let e = Math.floor(Math.log2(s));
  while (2 ** e > s) e--;
  while (2 ** (e + 1) <= s) e++;
  const ulp = 2 ** (e - 16);
  return Math.round(s / ulp) * ulp;
}

/** How the graph's input is made from the user's data, for the input's doc_string. */
function inputDoc(raw: RawModel): string {
  const input = raw.input;
  if (input.kind === 'vector')
    return `${input.size} features v, x = (v - offset) * scale with offset and scale from ${META_KEYS.input}`;
  return (
    `a ${input.width}x${input.height}${input.channels === 3 ? ' RGB (channels interleaved)' : ' grayscale'} image, ` +
    `row-major, x = pixel * ${input.scale} (pixels 0..255)`
  );
}

export interface OnnxExport {
  bytes: Uint8Array;
  opset: number;
  precision: OnnxPrecision;
  /** Per layer: "int8 per-tensor", "int8 per-axis", "int4 per-tensor", "float32". */
  weights: string[];
  input: { name: string; shape: [string, number]; type: 'float32' };
  output: { name: string; shape: [string, number]; type: OnnxPrecision };
}

/**
 * The ONNX graph of a (validated) model. `sha256` of the model file, when known, is recorded in the
 * metadata so the ONNX file can be traced to the model it came from.
 */
export function modelToOnnx(
  raw: RawModel,
  opts: { precision?: OnnxPrecision; sha256?: string; name?: string } = {},
): OnnxExport {
  const precision = opts.precision ?? 'float64';
  const wide = precision === 'float64';
  const hiType = wide ? DataType.DOUBLE : DataType.FLOAT;
  const hiBytes = wide ? float64Bytes : float32Bytes;
  const nodes: OnnxNode[] = [];
  const inits: OnnxTensor[] = [];
  const weights: string[] = [];
  const int = (name: string, i: number) => ({ name, type: AttrType.INT, i });
  const node = (op: string, name: string, input: string[], output: string[], attribute?: ReturnType<typeof int>[]) =>
    nodes.push({ op_type: op, name, input, output, ...(attribute ? { attribute } : {}) });
  const uses4bit = raw.layers.some((l) => l.dtype === 'int4');

  let x = ONNX_INPUT;
  if (wide) {
    node('Cast', 'input/Cast', [x], ['input.double'], [int('to', DataType.DOUBLE)]);
    x = 'input.double';
  }
  raw.layers.forEach((layer, k) => {
    const { rows, cols } = layer;
    const p = `layers.${k}`;
    const dtype = layer.dtype;
    const last = k === raw.layers.length - 1;
    let w = `${p}.weight`;
    if (dtype === 'float32') {
      weights.push('float32');
      const f32 = layer.q as Float32Array;
      const bytes = new Uint8Array(f32.buffer.slice(f32.byteOffset, f32.byteOffset + f32.byteLength));
      if (wide) {
        inits.push(rawTensor(`${p}.weight_float32`, DataType.FLOAT, [rows, cols], bytes));
        node('Cast', `${p}/Cast`, [`${p}.weight_float32`], [w], [int('to', DataType.DOUBLE)]);
      } else {
        inits.push(rawTensor(w, DataType.FLOAT, [rows, cols], bytes));
      }
    } else {
      const q = layer.q as Int8Array;
      const scales = typeof layer.scale === 'number' ? [layer.scale] : (layer.scale as number[]);
      const perAxis = scales.length > 1;
      weights.push(`${dtype} ${perAxis ? 'per-axis' : 'per-tensor'}`);
      let qBytes: Uint8Array;
      if (dtype === 'int4') {
        // ONNX packs int4 as the contract does: element 2m in the low nibble of byte m.
        qBytes = new Uint8Array(Math.ceil(q.length / 2));
        for (let i = 0; i < q.length; i++) qBytes[i >> 1] |= (q[i] & 15) << ((i & 1) * 4);
      } else {
        qBytes = new Uint8Array(q.buffer.slice(q.byteOffset, q.byteOffset + q.byteLength));
      }
      const dqScales = wide ? scales.map(scale17) : scales.map(Math.fround);
      inits.push(
        rawTensor(`${p}.weight_quantized`, dtype === 'int4' ? DataType.INT4 : DataType.INT8, [rows, cols], qBytes),
      );
      inits.push(rawTensor(`${p}.weight_scale`, DataType.FLOAT, perAxis ? [cols] : [], float32Bytes(dqScales)));
      const dq = wide ? `${p}.weight_dequantized` : w;
      node(
        'DequantizeLinear',
        `${p}/DequantizeLinear`,
        [`${p}.weight_quantized`, `${p}.weight_scale`],
        [dq],
        perAxis ? [int('axis', 1)] : undefined,
      );
      if (wide) {
        const rest = Array.from({ length: cols }, (_, j) => scales[perAxis ? j : 0] / dqScales[perAxis ? j : 0]);
        inits.push(rawTensor(`${p}.weight_scale_rest`, DataType.DOUBLE, [cols], float64Bytes(rest)));
        node('Cast', `${p}/Cast`, [dq], [`${dq}.double`], [int('to', DataType.DOUBLE)]);
        node('Mul', `${p}/Mul`, [`${dq}.double`, `${p}.weight_scale_rest`], [w]);
      }
    }
    inits.push(rawTensor(`${p}.bias`, hiType, [cols], hiBytes(layer.b)));
    node('MatMul', `${p}/MatMul`, [x, w], [`${p}.matmul`]);
    const z = last ? 'logits' : `${p}.output`;
    node('Add', `${p}/Add`, [`${p}.matmul`, `${p}.bias`], [z]);
    if (last) {
      node('Softmax', 'Softmax', [z], [ONNX_OUTPUT], [int('axis', -1)]);
    } else {
      node('Relu', `${p}/Relu`, [z], [`${p}.relu`]);
      x = `${p}.relu`;
    }
  });

  const size = raw.input.size;
  const classes = raw.labels.length;
  const valueInfo = (name: string, type: number, n: number, doc: string): OnnxValueInfo => ({
    name,
    doc_string: doc,
    type: { tensor_type: { elem_type: type, shape: { dim: [{ dim_param: 'batch' }, { dim_value: n }] } } },
  });
  const shape = [size, ...raw.layers.map((l) => l.cols)].join('-');
  const model: OnnxModel = {
    // IR 7 goes with opset 13 (ONNX 1.8); int4 needs opset 21 and IR 10 (ONNX 1.16).
    ir_version: uses4bit ? 10 : 7,
    opset_import: [{ domain: '', version: uses4bit ? 21 : 13 }],
    producer_name: 'digitkit',
    producer_version: VERSION,
    doc_string: `digitkit ${shape} ReLU MLP (${raw.dtype} weights), ${precision} arithmetic`,
    graph: {
      name: opts.name ?? 'digitkit-mlp',
      node: nodes,
      initializer: inits,
      input: [valueInfo(ONNX_INPUT, DataType.FLOAT, size, inputDoc(raw))],
      output: [
        valueInfo(ONNX_OUTPUT, hiType, classes, `softmax probabilities of the classes ${JSON.stringify(raw.labels)}`),
      ],
    },
    metadata_props: [
      { key: META_KEYS.format, value: 'digitkit-mlp' },
      { key: META_KEYS.version, value: String(raw.version) },
      { key: META_KEYS.dtype, value: raw.dtype },
      { key: META_KEYS.input, value: JSON.stringify(raw.input) },
      { key: META_KEYS.labels, value: JSON.stringify(raw.labels) },
      { key: META_KEYS.meta, value: JSON.stringify(raw.meta ?? {}) },
      { key: META_KEYS.precision, value: precision },
      ...(opts.sha256 ? [{ key: META_KEYS.source, value: opts.sha256 }] : []),
    ],
  };
  return {
    bytes: encodeOnnx(model),
    opset: uses4bit ? 21 : 13,
    precision,
    weights,
    input: { name: ONNX_INPUT, shape: ['batch', size], type: 'float32' },
    output: { name: ONNX_OUTPUT, shape: ['batch', classes], type: precision },
  };
}

export interface ExportOptions {
  model?: string;
  /** The ONNX file to write. */
  onnx: string;
  precision?: OnnxPrecision;
}

export interface ExportReport {
  model: { path: string; sha256: string; dtype: string; bytes: number };
  out: { path: string; bytes: number };
  opset: number;
  precision: OnnxPrecision;
  weights: string[];
  input: OnnxExport['input'];
  output: OnnxExport['output'];
  labels: string[];
}

/** Read a model file, export it, write the ONNX file atomically. */
export async function runExport(opts: ExportOptions): Promise<ExportReport> {
  const modelPath = defaultModel(opts.model);
  await checkOutput(opts.onnx);
  const file = await readModelFile(modelPath);
  const e = modelToOnnx(file.raw, { precision: opts.precision, sha256: file.sha256 });
  await writeFileAtomic(opts.onnx, e.bytes);
  return {
    model: { path: modelPath, sha256: file.sha256, dtype: file.raw.dtype, bytes: file.bytes.length },
    out: { path: opts.onnx, bytes: e.bytes.length },
    opset: e.opset,
    precision: e.precision,
    weights: e.weights,
    input: e.input,
    output: e.output,
    labels: file.raw.labels,
  };
}
