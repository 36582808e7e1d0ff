// Small ONNX graphs for the import tests, written with protobufjs through src/onnx/proto.ts (each one
// also loads in onnxruntime unless it is malformed on purpose). Seeded: the same options give the same bytes.
import {
  AttrType,
  DataType,
  encodeOnnx,
  float32Bytes,
  rawTensor,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
  type OnnxValueInfo,
} from '../../src/onnx/proto.js';
import { rng } from './random-model.js';

export interface Spec {
  nodes: OnnxNode[];
  inits: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  opset?: number;
}

export const valueInfo = (name: string, dims: (number | string)[], type: number = DataType.FLOAT): OnnxValueInfo => ({
  name,
  type: {
    tensor_type: {
      elem_type: type,
      shape: { dim: dims.map((d) => (typeof d === 'string' ? { dim_param: d } : { dim_value: d })) },
    },
  },
});

export const node = (
  op: string,
  input: string[],
  output: string[],
  name = `${op}_${output[0]}`,
  attrs: Record<string, number> = {},
): OnnxNode => ({
  op_type: op,
  name,
  input,
  output,
  attribute: Object.entries(attrs).map(([k, v]) =>
    Number.isInteger(v) ? { name: k, type: AttrType.INT, i: v } : { name: k, type: AttrType.FLOAT, f: v },
  ),
});

/** A float32 initializer of uniform values in [-limit, limit). */
export function randomTensor(name: string, dims: number[], seed: number, limit = 0.3): OnnxTensor {
  const rand = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return rawTensor(name, DataType.FLOAT, dims, float32Bytes(Array.from({ length: n }, () => (rand() * 2 - 1) * limit)));
}

export function encode(spec: Spec): Uint8Array {
  const model: OnnxModel = {
    ir_version: 7,
    opset_import: [{ domain: '', version: spec.opset ?? 13 }],
    producer_name: 'digitkit-test',
    graph: { name: 'test', node: spec.nodes, initializer: spec.inits, input: spec.inputs, output: spec.outputs },
  };
  return encodeOnnx(model);
}

/**
 * A tf2onnx-shaped MLP (MatMul + Add, Relu between, Softmax) of the given sizes, on a flat input
 * [batch, sizes[0]]; `edit` may change the spec before it is encoded.
 */
export function mlpSpec(sizes: number[], seed = 1): Spec {
  const nodes: OnnxNode[] = [];
  const inits: OnnxTensor[] = [];
  let x = 'x';
  sizes.slice(1).forEach((cols, k) => {
    inits.push(randomTensor(`W${k}`, [sizes[k], cols], seed * 100 + k, Math.sqrt(6 / sizes[k])));
    inits.push(randomTensor(`b${k}`, [cols], seed * 100 + 50 + k, 0.1));
    nodes.push(node('MatMul', [x, `W${k}`], [`m${k}`], `dense_${k}/MatMul`));
    nodes.push(node('Add', [`m${k}`, `b${k}`], [`z${k}`], `dense_${k}/BiasAdd`));
    if (k < sizes.length - 2) {
      nodes.push(node('Relu', [`z${k}`], [`a${k}`], `dense_${k}/Relu`));
      x = `a${k}`;
    } else {
      x = `z${k}`;
    }
  });
  nodes.push(node('Softmax', [x], ['probs'], 'softmax', { axis: -1 }));
  return {
    nodes,
    inits,
    inputs: [valueInfo('x', ['batch', sizes[0]])],
    outputs: [valueInfo('probs', ['batch', sizes[sizes.length - 1]])],
  };
}
