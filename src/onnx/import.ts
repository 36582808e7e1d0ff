/**
 * `digitkit import`: an ONNX MLP into a float32 digitkit model.
 *
 * Two shapes of graph are read, the ones PyTorch and Keras write for a multilayer perceptron:
 * - torch.onnx.export: [Flatten] Gemm(transB=1) Relu ... Gemm [Softmax]
 * - tf2onnx:           [Reshape]  MatMul Add  Relu ... MatMul Add [Softmax]
 * and everything that only renames or re-types a value on the way (Identity, Cast to a float type,
 * Dropout at inference), plus weights computed from constants alone (Constant, DequantizeLinear,
 * Cast, Mul, Transpose: how quantized exports, digitkit's own included, store them). The graph must
 * be one chain from its single input to its single output: every layer an affine map with constant
 * weights, ReLU between layers, softmax (or nothing, or log-softmax) at the end. Anything else is
 * exit 3 naming the first node that does not fit, with its op.
 *
 * How the flat input vector maps onto the contract's `input` (an image of pixels 0..255 with
 * x = pixel * scale): see `inputMapping`. A framework that normalizes its inputs with an offset
 * (x = (pixel - offset) * scale, e.g. torchvision's Normalize) is imported exactly by folding the
 * offset into the first layer's bias.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { parseRawModel } from '../core/index.js';
import { invalidInput, usageError } from '../errors.js';
import { checkOutput, writeFileAtomic } from '../node/atomic.js';
import { checkJsonShape, readInputFile } from '../node/input-file.js';
import { formatModel, type LayerToWrite, type ModelToWrite } from '../node/model-file.js';
import { META_KEYS } from './export.js';
import {
  attribute,
  DataType,
  decodeOnnx,
  dimsOf,
  nodeLabel,
  tensorValues,
  typeName,
  type OnnxAttribute,
  type OnnxModel,
  type OnnxNode,
  type OnnxTensor,
} from './proto.js';

/** ONNX files above this size are refused before parsing (an MLP digitkit can hold is far smaller). */
export const MAX_ONNX_BYTES = 256 * 1024 * 1024;

/** A constant: dims, values as float64, and the ONNX element type they have. */
interface Const {
  dims: number[];
  v: Float64Array;
  type: number;
}

/** One affine layer as read: W row-major [rows][cols] (input-major, as the contract stores it). */
interface ReadLayer {
  rows: number;
  cols: number;
  w: Float64Array;
  b: Float64Array;
  /** The node that made it (for messages). */
  from: string;
}

export interface ReadGraph {
  layers: ReadLayer[];
  /** The graph's input: name, element type, dims (a name for symbolic dims). */
  input: { name: string; type: string; dims: (number | string)[] };
  output: { name: string; kind: 'probabilities' | 'logits' | 'log-probabilities' };
  /** Flat input size (the first layer's rows). */
  size: number;
  /** How the input was laid out before any Flatten: [C, H, W] (channels first) or [H, W, C]. */
  layout?: { height: number; width: number; channels: number; channelsFirst: boolean };
  opset: number;
  producer: string;
  metadata: Record<string, string>;
}

/**
 * The element types a graph may compute in: digitkit computes in float64, which reproduces float32 and
 * float64 graphs; a half-precision one would compute something else.
 */
const FLOAT_TYPES: number[] = [DataType.FLOAT, DataType.DOUBLE];

function attrInt(node: OnnxNode, name: string, dflt: number): number {
  const a = attribute(node, name);
  return a?.i !== undefined ? Number(a.i) : dflt;
}
function attrFloat(node: OnnxNode, name: string, dflt: number): number {
  const a = attribute(node, name);
  return a?.f !== undefined ? a.f : dflt;
}

/** numpy-style broadcasting of two constants' shapes, or null when they do not broadcast. */
function broadcastShape(a: number[], b: number[]): number[] | null {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    const x = a[a.length - n + k] ?? 1;
    const y = b[b.length - n + k] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(Math.max(x, y));
  }
  return out;
}

/** Index into a tensor of `dims` for an index in a broadcast result of `out` dims. */
function broadcastIndex(i: number, out: number[], dims: number[]): number {
  let idx = 0;
  let stride = 1;
  for (let k = out.length - 1, d = dims.length - 1; k >= 0; k--, d--) {
    const coord = i % out[k];
    i = (i - coord) / out[k];
    if (d >= 0) {
      if (dims[d] !== 1) idx += coord * stride;
      stride *= dims[d];
    }
  }
  return idx;
}

/** Values rounded as the ONNX type holds them (float32 results are float32 values). */
function roundTo(type: number, v: Float64Array): Float64Array {
  if (type === DataType.FLOAT) for (let i = 0; i < v.length; i++) v[i] = Math.fround(v[i]);
  return v;
}

/**
 * Evaluate a node whose inputs are all constants, for the ops quantized and transposed weights are
 * stored with. Returns null for any other op (the caller reports it).
 */
function foldConstant(node: OnnxNode, inputs: Const[], what: string): Const | null {
  const op = node.op_type;
  const fail = (problem: string): never => {
    throw invalidInput(`${what}: ${nodeLabel(node)} ${problem}`);
  };
  if (node.domain && node.domain !== 'ai.onnx') return null;
  switch (op) {
    case 'Identity':
      return inputs[0];
    case 'Cast': {
      const to = attrInt(node, 'to', 0);
      const [x] = inputs;
      const v = Float64Array.from(x.v);
      if (to === DataType.FLOAT) return { dims: x.dims, v: roundTo(to, v), type: to };
      if (to === DataType.DOUBLE) return { dims: x.dims, v, type: to };
      if ([DataType.INT64, DataType.INT32].includes(to as 7)) return { dims: x.dims, v: v.map(Math.trunc), type: to };
      return fail(`casts to ${typeName(to)}, which digitkit does not fold`);
    }
    case 'Transpose': {
      const [x] = inputs;
      const perm = attribute(node, 'perm')?.ints?.map(Number);
      if (x.dims.length !== 2 || (perm && !(perm[0] === 1 && perm[1] === 0)))
        return fail(`transposes a [${x.dims.join(', ')}] tensor with perm [${perm ?? ''}]; only 2-D [1, 0] is folded`);
      const [r, c] = x.dims;
      const v = new Float64Array(r * c);
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) v[j * r + i] = x.v[i * c + j];
      return { dims: [c, r], v, type: x.type };
    }
    case 'Mul': {
      const [a, b] = inputs;
      const dims = broadcastShape(a.dims, b.dims);
      if (!dims) return fail(`multiplies shapes [${a.dims}] and [${b.dims}], which do not broadcast`);
      const n = dims.reduce((p, d) => p * d, 1);
      const v = new Float64Array(n);
      for (let i = 0; i < n; i++) v[i] = a.v[broadcastIndex(i, dims, a.dims)] * b.v[broadcastIndex(i, dims, b.dims)];
      const type = a.type === DataType.DOUBLE || b.type === DataType.DOUBLE ? DataType.DOUBLE : a.type;
      return { dims, v: roundTo(type, v), type };
    }
    case 'DequantizeLinear': {
      const [x, scale, zero] = inputs;
      if (attrInt(node, 'block_size', 0) > 0) return fail('uses blocked quantization (block_size), not supported');
      let axis = attrInt(node, 'axis', 1);
      if (axis < 0) axis += x.dims.length;
      const perAxis = scale.v.length > 1 || scale.dims.length === 1;
      if (perAxis && (scale.dims.length !== 1 || scale.v.length !== x.dims[axis]))
        return fail(`has a scale of shape [${scale.dims}] for a [${x.dims}] tensor on axis ${axis}`);
      const stride = x.dims.slice(axis + 1).reduce((p, d) => p * d, 1);
      const v = new Float64Array(x.v.length);
      for (let i = 0; i < v.length; i++) {
        const k = perAxis ? Math.floor(i / stride) % x.dims[axis] : 0;
        v[i] = (x.v[i] - (zero ? zero.v[zero.v.length > 1 ? k : 0] : 0)) * scale.v[k];
      }
      return { dims: x.dims, v: roundTo(scale.type, v), type: scale.type };
    }
    default:
      return null;
  }
}

/** A Constant node's value. */
function constantValue(node: OnnxNode, what: string): Const {
  const a: OnnxAttribute | undefined = node.attribute?.[0];
  const fail = (problem: string): never => {
    throw invalidInput(`${what}: ${nodeLabel(node)} ${problem}`);
  };
  if (!a || node.attribute!.length !== 1) return fail('has no single value attribute');
  switch (a.name) {
    case 'value': {
      const t = a.t as OnnxTensor;
      return { dims: dimsOf(t), v: tensorValues(t, `${what}: ${nodeLabel(node)}'s value`), type: t.data_type ?? 0 };
    }
    case 'value_float':
      return { dims: [], v: Float64Array.of(a.f ?? 0), type: DataType.FLOAT };
    case 'value_floats':
      return { dims: [a.floats?.length ?? 0], v: Float64Array.from(a.floats ?? []), type: DataType.FLOAT };
    case 'value_int':
      return { dims: [], v: Float64Array.of(Number(a.i ?? 0)), type: DataType.INT64 };
    case 'value_ints':
      return { dims: [a.ints?.length ?? 0], v: Float64Array.from(a.ints ?? [], Number), type: DataType.INT64 };
    default:
      return fail(`holds a ${a.name} value, which digitkit does not read`);
  }
}

/** Read the graph of a decoded ONNX model into layers (no digitkit input mapping yet). */
export function readOnnxGraph(model: OnnxModel, source: string): ReadGraph {
  const g = model.graph!;
  const fail = (problem: string): never => {
    throw invalidInput(`${source}: ${problem}`);
  };
  const opset = Number(model.opset_import?.find((o) => !o.domain || o.domain === 'ai.onnx')?.version ?? 0);
  if (!opset) fail('imports no version of the standard ONNX operator set');
  if (g.sparse_initializer?.length) fail('has sparse initializers, which digitkit does not read');

  // Constants: initializers, then anything computed from constants alone.
  const consts = new Map<string, Const>();
  for (const t of g.initializer ?? []) {
    if (!t.name) fail('has an initializer without a name');
    consts.set(t.name!, {
      dims: dimsOf(t),
      v: tensorValues(t, `${source}: initializer '${t.name}'`),
      type: t.data_type ?? 0,
    });
  }
  const inputs = (g.input ?? []).filter((i) => !consts.has(i.name ?? ''));
  for (const node of inputs.length > 1 ? (g.node ?? []) : []) {
    const w = node.input?.slice(1).find((name) => inputs.some((i) => i.name === name));
    if (w && (node.op_type === 'MatMul' || node.op_type === 'Gemm'))
      fail(
        `${nodeLabel(node)}: its weight '${w}' is a graph input, not a constant initializer (a dynamic weight); digitkit imports fixed weights only`,
      );
  }
  if (inputs.length !== 1)
    fail(
      `has ${inputs.length} inputs${inputs.length ? ` (${inputs.map((i) => i.name).join(', ')})` : ''}; digitkit imports a graph with exactly one input, the feature vector`,
    );
  if ((g.output ?? []).length !== 1)
    fail(
      `has ${g.output?.length ?? 0} outputs${g.output?.length ? ` (${g.output.map((o) => o.name).join(', ')})` : ''}; digitkit imports a graph with exactly one output, the class scores`,
    );
  const input = inputs[0];
  const tensorType = input.type?.tensor_type;
  if (!tensorType) fail(`input '${input.name}' is not a tensor`);
  const inType = tensorType!.elem_type ?? 0;
  if (!FLOAT_TYPES.includes(inType))
    fail(`input '${input.name}' is tensor(${typeName(inType)}), expected tensor(float) or tensor(double)`);
  const inDims = (tensorType!.shape?.dim ?? []).map((d) =>
    d.dim_value !== undefined ? Number(d.dim_value) : (d.dim_param ?? '?'),
  );

  const dynamicNodes: OnnxNode[] = [];
  for (const node of g.node ?? []) {
    const ins = (node.input ?? []).filter((n) => n !== '');
    if (node.op_type === 'Constant' && (!node.domain || node.domain === 'ai.onnx')) {
      consts.set(node.output?.[0] ?? '', constantValue(node, source));
      continue;
    }
    if (ins.length && ins.every((n) => consts.has(n))) {
      const folded = foldConstant(
        node,
        ins.map((n) => consts.get(n)!),
        source,
      );
      if (!folded) fail(`${nodeLabel(node)} is not supported (digitkit imports MLPs: ${SUPPORTED})`);
      consts.set(node.output?.[0] ?? '', folded!);
      continue;
    }
    dynamicNodes.push(node);
  }

  // The chain: who consumes each computed value.
  const consumers = new Map<string, OnnxNode[]>();
  for (const node of dynamicNodes) {
    for (const name of node.input ?? []) {
      if (name === '' || consts.has(name)) continue;
      if (!consumers.has(name)) consumers.set(name, []);
      consumers.get(name)!.push(node);
    }
  }
  const outputName = g.output![0].name ?? '';
  const layers: ReadLayer[] = [];
  let current = input.name ?? '';
  let rank = inDims.length;
  let flat = inDims.slice(1).every((d) => typeof d === 'number')
    ? (inDims.slice(1) as number[]).reduce((a, b) => a * b, 1)
    : NaN;
  if (rank === 1) flat = typeof inDims[0] === 'number' ? inDims[0] : NaN;
  let layout: ReadGraph['layout'];
  const spatial = inDims.slice(1);
  if (spatial.length === 3 && spatial.every((d) => typeof d === 'number')) {
    const [a, b, c] = spatial as number[];
    if (a === 1 || a === 3) layout = { channels: a, height: b, width: c, channelsFirst: true };
    else if (c === 1 || c === 3) layout = { height: a, width: b, channels: c, channelsFirst: false };
  } else if (spatial.length === 2 && spatial.every((d) => typeof d === 'number')) {
    layout = { height: spatial[0] as number, width: spatial[1] as number, channels: 1, channelsFirst: false };
  }
  // What the chain expects next: a layer may take a bias, then needs a Relu (or is the last).
  let state: 'start' | 'affine' | 'biased' | 'relu' | 'end' = 'start';
  let kind: ReadGraph['output']['kind'] = 'logits';
  const seen = new Set<OnnxNode>();
  const constOf = (node: OnnxNode, k: number, role: string): Const => {
    const name = node.input?.[k] ?? '';
    const c = consts.get(name);
    if (!c)
      fail(
        `${nodeLabel(node)}: its ${role} '${name}' is ${name ? 'computed in the graph' : 'missing'}, not a constant initializer (a dynamic weight); digitkit imports fixed weights only`,
      );
    return c!;
  };
  const biasVector = (node: OnnxNode, c: Const, cols: number): Float64Array => {
    const n = c.v.length;
    const shapeOk = c.dims.filter((d) => d !== 1).length <= 1 && (n === cols || n === 1);
    if (!shapeOk) fail(`${nodeLabel(node)}: bias of shape [${c.dims.join(', ')}] does not fit ${cols} outputs`);
    return Float64Array.from({ length: cols }, (_, j) => c.v[n === 1 ? 0 : j]);
  };
  const needFlat = (node: OnnxNode) => {
    if (rank > 2)
      fail(
        `${nodeLabel(node)} is applied to a rank-${rank} tensor; flatten the input first (Flatten or Reshape to [batch, features])`,
      );
  };

  while (current !== outputName || (consumers.get(current)?.length ?? 0) > 0) {
    const next = consumers.get(current) ?? [];
    if (next.length === 0) fail(`value '${current}' is not used by any node and is not the graph's output`);
    if (next.length > 1)
      fail(
        `has a branch: value '${current}' feeds ${next.length} nodes (${next.map(nodeLabel).join(', ')}); digitkit imports a single chain of layers`,
      );
    const node = next[0];
    if (seen.has(node)) fail(`has a cycle through ${nodeLabel(node)}`);
    seen.add(node);
    const label = nodeLabel(node);
    const dyn = (node.input ?? []).filter((n) => n !== '' && !consts.has(n));
    if (dyn.length > 1)
      fail(
        `${label} combines ${dyn.length} computed values (${dyn.join(', ')}): a branch or a dynamic weight; digitkit imports a single chain with constant weights`,
      );
    const op = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}.${node.op_type}` : node.op_type;
    if (state === 'end') fail(`${label} follows the final ${kind === 'logits' ? 'layer' : 'Softmax'}; nothing may`);
    switch (op) {
      case 'Identity':
        break;
      case 'Cast': {
        const to = attrInt(node, 'to', 0);
        if (!FLOAT_TYPES.includes(to))
          fail(`${label} casts to ${typeName(to)}; only casts to float or double are read`);
        break;
      }
      case 'Dropout': {
        // Inference: identity, unless training_mode is given and true.
        const train = node.input?.[2];
        if (train && (!consts.has(train) || consts.get(train)!.v[0] !== 0))
          fail(`${label} runs in training mode; export the model for inference (model.eval())`);
        if ((node.output ?? []).slice(1).some((o) => o && consumers.has(o)))
          fail(`${label}'s mask output is used; digitkit imports inference graphs`);
        break;
      }
      case 'Flatten': {
        if (state !== 'start') fail(`${label} appears between layers; only the input may be flattened`);
        let axis = attrInt(node, 'axis', 1);
        if (axis < 0) axis += rank;
        if (axis !== 1 && rank > 1) fail(`${label} flattens from axis ${axis}; expected axis 1 (keep the batch)`);
        rank = 2;
        break;
      }
      case 'Reshape': {
        if (state !== 'start') fail(`${label} appears between layers; only the input may be reshaped`);
        const shape = Array.from(constOf(node, 1, 'shape').v);
        const ok =
          shape.length === 2 &&
          [-1, 0, 1].includes(shape[0]) &&
          (shape[1] === -1 ? shape[0] !== -1 : Number.isNaN(flat) || shape[1] === flat);
        if (!ok)
          fail(
            `${label} reshapes to [${shape.join(', ')}]; expected [-1, ${Number.isNaN(flat) ? 'features' : flat}] (flattening the input)`,
          );
        if (shape[1] > 0) flat = shape[1];
        rank = 2;
        break;
      }
      case 'MatMul':
      case 'Gemm': {
        if (state === 'affine' || state === 'biased')
          fail(
            `${label} follows a layer without a Relu between them; digitkit MLPs apply ReLU after every layer but the last`,
          );
        if (node.input?.[0] !== current)
          fail(`${label} takes the computed value as its weight operand; expected input x weight`);
        needFlat(node);
        const wc = constOf(node, 1, 'weight');
        if (wc.dims.length !== 2) fail(`${label}: weight of shape [${wc.dims.join(', ')}], expected a matrix`);
        let [r, c] = wc.dims;
        let w = wc.v;
        let b = new Float64Array(0);
        if (op === 'Gemm') {
          if (attrInt(node, 'transA', 0)) fail(`${label} has transA=1; expected the batch along rows`);
          const alpha = attrFloat(node, 'alpha', 1);
          const beta = attrFloat(node, 'beta', 1);
          if (attrInt(node, 'transB', 0)) {
            // PyTorch's Linear: weight stored [out, in].
            const t = new Float64Array(r * c);
            for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = w[i * c + j];
            w = t;
            [r, c] = [c, r];
          }
          if (alpha !== 1) w = w.map((v) => v * alpha);
          if (node.input?.[2]) b = biasVector(node, constOf(node, 2, 'bias'), c).map((v) => v * beta);
        }
        if (!Number.isNaN(flat) && r !== flat)
          fail(
            `${label}: weight has ${r} rows, the ${layers.length ? 'previous layer gives' : 'input has'} ${flat} values`,
          );
        layers.push({ rows: r, cols: c, w, b: b.length ? b : new Float64Array(c), from: label });
        flat = c;
        rank = 2;
        state = op === 'Gemm' && node.input?.[2] ? 'biased' : 'affine';
        break;
      }
      case 'Add': {
        if (state !== 'affine')
          fail(
            `${label} is not the bias of a MatMul (it follows ${state === 'biased' ? 'a bias already' : 'no layer'})`,
          );
        const other = node.input?.[0] === current ? 1 : 0;
        const layer = layers[layers.length - 1];
        const bias = biasVector(node, constOf(node, other, 'bias'), layer.cols);
        for (let j = 0; j < layer.cols; j++) layer.b[j] += bias[j];
        state = 'biased';
        break;
      }
      case 'Relu':
        if (state !== 'affine' && state !== 'biased')
          fail(`${label} does not follow a layer; digitkit MLPs apply ReLU after a layer only`);
        state = 'relu';
        break;
      case 'Softmax':
      case 'LogSoftmax': {
        if (state !== 'affine' && state !== 'biased')
          fail(
            `${label} does not follow a layer${state === 'relu' ? ' (a Relu after the last layer is not part of a digitkit MLP)' : ''}`,
          );
        let axis = attrInt(node, 'axis', opset >= 13 ? -1 : 1);
        if (axis < 0) axis += 2;
        if (axis !== 1) fail(`${label} has axis ${axis}; expected the class axis (1 or -1)`);
        kind = op === 'Softmax' ? 'probabilities' : 'log-probabilities';
        state = 'end';
        break;
      }
      default:
        fail(`${label} is not supported (digitkit imports MLPs: ${SUPPORTED})`);
    }
    current = node.output?.[0] ?? '';
  }
  if (!layers.length) fail('has no layer (no MatMul or Gemm on the input)');
  if (state === 'relu') fail(`the graph ends with a Relu after the last layer, which a digitkit MLP does not have`);
  const stray = dynamicNodes.find((n) => !seen.has(n));
  if (stray) fail(`has a branch: ${nodeLabel(stray)} is not on the chain from the input to the output`);
  const producer = [model.producer_name, model.producer_version].filter(Boolean).join(' ');
  const metadata: Record<string, string> = {};
  for (const p of model.metadata_props ?? []) if (p.key) metadata[p.key] = p.value ?? '';
  return {
    layers,
    input: { name: input.name ?? '', type: typeName(inType), dims: inDims },
    output: { name: outputName, kind },
    size: layers[0].rows,
    layout: layout && layout.width * layout.height * layout.channels === layers[0].rows ? layout : undefined,
    opset,
    producer,
    metadata,
  };
}

const SUPPORTED =
  'Gemm or MatMul + Add layers, Relu, a final Softmax or LogSoftmax, Flatten/Reshape of the input, Identity, Cast, Dropout';

export interface InputChoice {
  /** "image:WxH", "image:WxHxC" or "vector"; default: from the graph (see `inputMapping`). */
  input?: string;
  /** The graph computes on x = (raw - offset) * scale: the scale (one number, or one per feature for a vector). */
  scale?: number | number[];
  /** The offset: one number, one per channel (images) or one per feature (vectors). Default 0. */
  offset?: number | number[];
  /** A flat input of a 3-channel image holds the channels one after another (PyTorch's CHW), not interleaved. */
  channelsFirst?: boolean;
  /** How a picture becomes the image's pixels (default: "digit" for one channel, "resize" for three). */
  preprocess?: 'digit' | 'resize';
}

export type InputMapping =
  | {
      kind: 'image';
      width: number;
      height: number;
      channels: number;
      scale: number;
      /** Per channel (folded into the first layer's bias). */
      offset: number[];
      preprocess: 'digit' | 'resize';
      /** The graph's input holds the channels planar (CHW): the first layer's rows are reordered. */
      channelsFirst: boolean;
      from: string;
    }
  | { kind: 'vector'; size: number; scale: number[]; offset: number[]; from: string };

/** One number, or `n` numbers, as `n` numbers (a usage error naming the flag otherwise). */
function perEntry(v: number | number[] | undefined, dflt: number, n: number, flag: string, what: string): number[] {
  const list = v === undefined ? [dflt] : typeof v === 'number' ? [v] : v;
  if (list.length !== 1 && list.length !== n)
    throw usageError(`${flag}: ${list.length} numbers, expected 1 or ${n} (one per ${what})`);
  if (list.some((x) => !Number.isFinite(x))) throw usageError(`${flag}: expected finite numbers`);
  return list.length === n ? list : new Array(n).fill(list[0]);
}

/**
 * The contract's `input` for a graph. `--input` when given; else the graph's input shape when it is
 * an image's ([N, C, H, W] or [N, H, W, C] with C 1 or 3, or [N, H, W]); else a 28x28 image for 784
 * inputs (MNIST); else a vector of features. The graph computes on x = (raw - offset) * scale: for
 * an image raw is the pixel (0..255, default scale 1/255), for a vector the feature (default scale 1).
 */
export function inputMapping(g: ReadGraph, choice: InputChoice, source: string): InputMapping {
  let image: { width: number; height: number; channels: number; channelsFirst: boolean } | undefined;
  let from: string;
  if (choice.input) {
    from = '--input';
    if (choice.input !== 'vector') {
      const m = /^image:(\d+)x(\d+)(?:x(\d+))?$/.exec(choice.input);
      if (!m) throw usageError(`--input ${choice.input}: expected image:WxH, image:WxHxC (C 1 or 3) or vector`);
      const [width, height, channels] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 1)];
      if (channels !== 1 && channels !== 3) throw usageError(`--input ${choice.input}: images have 1 or 3 channels`);
      if (width * height * channels !== g.size)
        throw usageError(`--input ${choice.input}: ${width}x${height}x${channels} is not the graph's ${g.size} inputs`);
      // A graph that says its layout is believed; a flat one is interleaved unless told otherwise.
      const first = g.layout && g.layout.channels === channels ? g.layout.channelsFirst : !!choice.channelsFirst;
      image = { width, height, channels, channelsFirst: channels === 3 && first };
    }
  } else if (g.layout) {
    image = { ...g.layout, channelsFirst: g.layout.channels === 3 && g.layout.channelsFirst };
    from = `the graph's input shape [${g.input.dims.join(', ')}]`;
  } else if (g.size === 784) {
    image = { width: 28, height: 28, channels: 1, channelsFirst: false };
    from = '784 inputs (MNIST-sized)';
  } else {
    from = `a flat input of ${g.size} values (say --input image:WxH if it is an image)`;
  }
  if (!image) {
    if (choice.preprocess) throw usageError('--preprocess applies to image inputs only');
    const n = g.size;
    const scale = perEntry(choice.scale, 1, n, '--input-scale', 'feature');
    if (scale.some((x) => !(x > 0))) throw usageError('--input-scale: expected positive numbers');
    return { kind: 'vector', size: n, scale, offset: perEntry(choice.offset, 0, n, '--input-offset', 'feature'), from };
  }
  if (Array.isArray(choice.scale) && choice.scale.length !== 1)
    throw usageError('--input-scale: an image takes one scale for every pixel');
  const scale = Array.isArray(choice.scale) ? choice.scale[0] : (choice.scale ?? 1 / 255);
  if (!(scale > 0) || !Number.isFinite(scale)) throw usageError(`--input-scale ${scale}: expected a positive number`);
  return {
    kind: 'image',
    ...image,
    scale,
    offset: perEntry(choice.offset, 0, image.channels, '--input-offset', 'channel'),
    preprocess: choice.preprocess ?? (image.channels === 1 ? 'digit' : 'resize'),
    from,
  };
}

/** Labels from a file: a JSON array of strings, or one label per line. */
export async function readLabelsFile(file: string): Promise<string[]> {
  const text = (
    await readInputFile(file, { kind: 'labels', limit: 16 * 1024 * 1024, missing: 'no such labels file' })
  ).toString('utf8');
  const fail = (problem: string): never => {
    throw invalidInput(`${file}: ${problem}`);
  };
  if (text.trimStart().startsWith('[')) {
    checkJsonShape(text, file);
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      return fail(`is not valid JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(doc) || !doc.length || !doc.every((l) => typeof l === 'string' && l !== ''))
      fail('is not a non-empty JSON array of non-empty strings');
    return doc as string[];
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  if (!lines.length) fail('holds no labels (one per line, or a JSON array)');
  const blank = lines.findIndex((l) => l.trim() === '');
  if (blank >= 0) fail(`line ${blank + 1} is empty; every class needs a label`);
  return lines.map((l) => l.trim());
}

export interface ImportOptions extends InputChoice {
  /** The ONNX file to read. */
  onnx: string;
  /** The model file to write (default: the ONNX file's name with .json). */
  out?: string;
  /** A labels file (one per line, or a JSON array); default: the ONNX metadata's, else "0".."K-1". */
  labels?: string;
}

export interface ImportReport {
  onnx: { path: string; sha256: string; bytes: number; producer: string; opset: number };
  out: { path: string; bytes: number; sha256: string };
  shape: number[];
  /** The graph's input and what it became in the model. */
  input: { graph: ReadGraph['input'] } & InputMapping;
  output: ReadGraph['output'];
  labels: string[];
}

/** Turn a read graph and the input/label choices into the model to write. */
export function toDigitkitModel(
  g: ReadGraph,
  map: InputMapping,
  labels: string[],
  meta: Record<string, unknown>,
): ModelToWrite {
  const layers: LayerToWrite[] = g.layers.map((l, k) => {
    let w = Float32Array.from(l.w);
    const b = Float64Array.from(l.b);
    if (k === 0 && map.kind === 'image' && map.channelsFirst) {
      // The graph's row c*H*W + p (planar) is the contract's row p*C + c (interleaved).
      const { width, height, channels } = map;
      const plane = width * height;
      const moved = new Float32Array(w.length);
      for (let c = 0; c < channels; c++)
        for (let p = 0; p < plane; p++)
          moved.set(w.subarray((c * plane + p) * l.cols, (c * plane + p + 1) * l.cols), (p * channels + c) * l.cols);
      w = moved;
    }
    if (k === 0 && map.kind === 'image' && map.offset.some((o) => o !== 0)) {
      // x = (pixel - offset) * scale = pixel * scale - offset * scale: the constant part moves into
      // the bias, computed with the float32 weights the file will hold (row i is channel i % C).
      for (let j = 0; j < l.cols; j++) {
        let s = 0;
        for (let i = 0; i < l.rows; i++) s += map.offset[i % map.channels] * w[i * l.cols + j];
        b[j] -= s * map.scale;
      }
    }
    const bad = w.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw invalidInput(`${l.from}: weight ${bad} is ${l.w[bad]}, not a finite float32 number`);
    const badB = b.findIndex((v) => !Number.isFinite(v));
    if (badB >= 0) throw invalidInput(`${l.from}: bias ${badB} is ${b[badB]}, not a finite number`);
    return { rows: l.rows, cols: l.cols, dtype: 'float32', w, b: Array.from(b) };
  });
  return {
    layers,
    input:
      map.kind === 'vector'
        ? { kind: 'vector', size: map.size, offset: map.offset, scale: map.scale }
        : {
            kind: 'image',
            width: map.width,
            height: map.height,
            channels: map.channels,
            scale: map.scale,
            preprocess: map.preprocess,
          },
    labels,
    meta,
  };
}

/** Read an ONNX file, map it to a digitkit model, check it loads, write it atomically. */
export async function runImport(opts: ImportOptions): Promise<ImportReport> {
  const source = opts.onnx;
  const out = opts.out ?? source.replace(/\.onnx$/i, '') + '.json';
  if (path.resolve(out) === path.resolve(source))
    throw usageError(`--out ${out}: would overwrite the ONNX file it reads`);
  await checkOutput(out);
  const bytes = await readInputFile(source, { kind: 'ONNX', limit: MAX_ONNX_BYTES, missing: 'no such ONNX file' });
  const model = decodeOnnx(bytes, source);
  const g = readOnnxGraph(model, source);
  const ours = g.metadata[META_KEYS.format] === 'digitkit-mlp';
  // Metadata is the file's own text: its nesting is bounded like any JSON input (throws, caught below);
  // `any` as JSON.parse gives.
  const metaJson = (text: string | undefined, file: string): any => {
    checkJsonShape(text ?? 'null', file);
    return JSON.parse(text ?? 'null');
  };
  const classes = g.layers[g.layers.length - 1].cols;

  let labels: string[];
  if (opts.labels) {
    labels = await readLabelsFile(opts.labels);
    if (labels.length !== classes)
      throw invalidInput(`${opts.labels}: ${labels.length} labels, but ${source} has ${classes} outputs`);
  } else {
    let fromMeta: unknown;
    try {
      fromMeta = ours ? metaJson(g.metadata[META_KEYS.labels], source) : null;
    } catch {
      fromMeta = null;
    }
    labels =
      Array.isArray(fromMeta) && fromMeta.length === classes && fromMeta.every((l) => typeof l === 'string' && l)
        ? (fromMeta as string[])
        : Array.from({ length: classes }, (_, k) => String(k));
  }

  // digitkit's own exports carry their input description; flags still win.
  let choice: InputChoice = opts;
  if (ours && opts.input === undefined && opts.scale === undefined && opts.offset === undefined) {
    try {
      const i = metaJson(g.metadata[META_KEYS.input], source);
      if (i?.kind === 'vector') choice = { ...opts, input: 'vector', offset: i.offset, scale: i.scale };
      else if (i && Number.isInteger(i.width) && Number.isInteger(i.height) && i.scale > 0)
        choice = {
          ...opts,
          input: `image:${i.width}x${i.height}x${i.channels ?? 1}`,
          scale: i.scale,
          preprocess: opts.preprocess ?? i.preprocess,
        };
    } catch {
      /* not ours after all: the defaults apply */
    }
  }
  const map = inputMapping(g, choice, source);
  if (choice !== opts) map.from = "the file's digitkit metadata";
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const notes: string[] = [];
  if (map.kind === 'image' && map.offset.some((o) => o !== 0))
    notes.push(
      `the graph computes on (pixel - offset) * ${map.scale} with offset ${map.offset.join(', ')} per channel; the offset is folded into layers[0].b`,
    );
  if (map.kind === 'image' && map.channelsFirst)
    notes.push("the graph's input holds the channels one after another; layers[0]'s rows are reordered to interleaved");
  const meta: Record<string, unknown> = {
    imported: {
      from: 'onnx',
      file: path.basename(source),
      sha256,
      producer: g.producer,
      opset: g.opset,
      input: g.input,
      output: g.output,
      ...(notes.length && { notes }),
    },
  };
  if (ours) {
    try {
      meta.original = metaJson(g.metadata[META_KEYS.meta], source);
    } catch {
      /* unreadable: left out */
    }
  }
  const text = formatModel(toDigitkitModel(g, map, labels, meta));
  // Written only if the core reads it back: never a model file that `verify` would refuse.
  try {
    parseRawModel(text, out);
  } catch (err) {
    throw invalidInput(`${source}: the model it maps to is not valid (${(err as Error).message})`);
  }
  await writeFileAtomic(out, text);
  return {
    onnx: { path: source, sha256, bytes: bytes.length, producer: g.producer, opset: g.opset },
    out: { path: out, bytes: Buffer.byteLength(text), sha256: createHash('sha256').update(text).digest('hex') },
    shape: [g.size, ...g.layers.map((l) => l.cols)],
    input: { graph: g.input, ...map },
    output: g.output,
    labels,
  };
}
