/**
 * The ONNX file format through protobufjs: the part of the ONNX schema digitkit reads and writes,
 * the decoded messages' types, and tensor helpers. protobufjs does all the wire encoding; the schema
 * below only names the messages and field numbers (ONNX's onnx.proto, proto2 syntax, same numbers and
 * packing, so files read and written here are ordinary ONNX files).
 *
 * Fields digitkit never interprets but must notice (subgraphs, sparse or external tensors, local
 * functions, training info) are declared as opaque `bytes`: decoding records that they are present
 * without walking into them, which also bounds how deep a hostile file can make the decoder recurse.
 */
import { createRequire } from 'node:module';
import type { Type } from 'protobufjs';
import { invalidInput } from '../errors.js';

const SCHEMA = `
syntax = "proto2";
package onnx;
message StringStringEntryProto { optional string key = 1; optional string value = 2; }
message OperatorSetIdProto { optional string domain = 1; optional int64 version = 2; }
message TensorShapeProto {
  message Dimension {
    oneof value { int64 dim_value = 1; string dim_param = 2; }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}
message TypeProto {
  message Tensor { optional int32 elem_type = 1; optional TensorShapeProto shape = 2; }
  oneof value {
    Tensor tensor_type = 1;
    bytes sequence_type = 4;
    bytes map_type = 5;
    bytes opaque_type = 7;
    bytes sparse_tensor_type = 8;
    bytes optional_type = 9;
  }
  optional string denotation = 6;
}
message ValueInfoProto { optional string name = 1; optional TypeProto type = 2; optional string doc_string = 3; }
message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  optional bytes segment = 3;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional bytes raw_data = 9;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
  optional string doc_string = 12;
  repeated StringStringEntryProto external_data = 13;
  optional int32 data_location = 14;
}
message AttributeProto {
  optional string name = 1;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  optional bytes g = 6;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
  repeated TensorProto tensors = 10;
  repeated bytes graphs = 11;
  optional string doc_string = 13;
  optional bytes tp = 14;
  repeated bytes type_protos = 15;
  optional int32 type = 20;
  optional string ref_attr_name = 21;
  optional bytes sparse_tensor = 22;
  repeated bytes sparse_tensors = 23;
}
message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
  optional string domain = 7;
}
message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
  repeated bytes sparse_initializer = 15;
}
message ModelProto {
  optional int64 ir_version = 1;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated OperatorSetIdProto opset_import = 8;
  repeated StringStringEntryProto metadata_props = 14;
  repeated bytes training_info = 20;
  repeated bytes functions = 25;
}
`;

/** TensorProto.DataType values digitkit uses. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  INT32: 6,
  INT64: 7,
  DOUBLE: 11,
  INT4: 22,
} as const;

/** Names for messages ("tensor(float)"), for every DataType an error may need to show. */
const TYPE_NAMES = [
  'undefined',
  'float',
  'uint8',
  'int8',
  'uint16',
  'int16',
  'int32',
  'int64',
  'string',
  'bool',
  'float16',
  'double',
  'uint32',
  'uint64',
  'complex64',
  'complex128',
  'bfloat16',
  'float8e4m3fn',
  'float8e4m3fnuz',
  'float8e5m2',
  'float8e5m2fnuz',
  'uint4',
  'int4',
  'float4e2m1',
];
export const typeName = (t: number | undefined) => TYPE_NAMES[t ?? 0] ?? `type ${t}`;

/** AttributeProto.AttributeType values digitkit writes or reads. */
export const AttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, FLOATS: 6, INTS: 7 } as const;

export interface OnnxEntry {
  key?: string;
  value?: string;
}
export interface OnnxTensor {
  name?: string;
  dims?: number[];
  data_type?: number;
  raw_data?: Uint8Array;
  float_data?: number[];
  double_data?: number[];
  int32_data?: number[];
  int64_data?: number[];
  uint64_data?: number[];
  string_data?: Uint8Array[];
  segment?: Uint8Array;
  data_location?: number;
  external_data?: OnnxEntry[];
  doc_string?: string;
}
export interface OnnxAttribute {
  name?: string;
  type?: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: OnnxTensor;
  floats?: number[];
  ints?: number[];
  g?: Uint8Array;
  graphs?: Uint8Array[];
  ref_attr_name?: string;
}
export interface OnnxNode {
  name?: string;
  op_type?: string;
  domain?: string;
  input?: string[];
  output?: string[];
  attribute?: OnnxAttribute[];
  doc_string?: string;
}
export interface OnnxDim {
  dim_value?: number;
  dim_param?: string;
}
export interface OnnxValueInfo {
  name?: string;
  doc_string?: string;
  type?: {
    tensor_type?: { elem_type?: number; shape?: { dim?: OnnxDim[] } };
    sequence_type?: Uint8Array;
    map_type?: Uint8Array;
    opaque_type?: Uint8Array;
    sparse_tensor_type?: Uint8Array;
    optional_type?: Uint8Array;
  };
}
export interface OnnxGraph {
  name?: string;
  node?: OnnxNode[];
  initializer?: OnnxTensor[];
  sparse_initializer?: Uint8Array[];
  input?: OnnxValueInfo[];
  output?: OnnxValueInfo[];
  value_info?: OnnxValueInfo[];
  doc_string?: string;
}
export interface OnnxModel {
  ir_version?: number;
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: number;
  doc_string?: string;
  graph?: OnnxGraph;
  opset_import?: { domain?: string; version?: number }[];
  metadata_props?: OnnxEntry[];
  training_info?: Uint8Array[];
  functions?: Uint8Array[];
}

let modelType: Type | undefined;

/** The ModelProto type, built once (protobufjs is loaded only by the commands that need it). */
function ModelProto(): Type {
  if (!modelType) {
    const protobuf = createRequire(import.meta.url)('protobufjs') as typeof import('protobufjs');
    modelType = protobuf.parse(SCHEMA, { keepCase: true }).root.lookupType('onnx.ModelProto');
  }
  return modelType;
}

/** Serialize a model; throws (a bug, not a user error) when the object does not fit the schema. */
export function encodeOnnx(model: OnnxModel): Uint8Array {
  const type = ModelProto();
  const problem = type.verify(model);
  if (problem) throw new Error(`ONNX model does not fit the schema: ${problem}`);
  return type.encode(type.fromObject(model)).finish();
}

/**
 * Parse the bytes of an ONNX file. Anything that is not protobuf, or is protobuf but not an ONNX
 * model (no graph, no IR version, no opset), is exit 3 naming `source`.
 */
export function decodeOnnx(bytes: Uint8Array, source: string): OnnxModel {
  let model: OnnxModel;
  try {
    const type = ModelProto();
    model = type.toObject(type.decode(bytes), { longs: Number, arrays: false, defaults: false }) as OnnxModel;
  } catch (err) {
    const why = (err as Error).message.split('\n')[0];
    throw invalidInput(`${source}: is not an ONNX model (truncated or not protobuf: ${why})`);
  }
  if (!bytes.length || !model.graph || !(Number(model.ir_version) > 0) || !model.opset_import?.length)
    throw invalidInput(
      `${source}: is not an ONNX model (${!model.graph ? 'no graph' : !(Number(model.ir_version) > 0) ? 'no IR version' : 'no opset_import'})`,
    );
  return model;
}

/** A tensor's dims as plain numbers ([] for a scalar). */
export const dimsOf = (t: OnnxTensor): number[] => (t.dims ?? []).map(Number);

/** A tensor's element count (1 for a scalar). */
export const countOf = (t: OnnxTensor): number => dimsOf(t).reduce((a, b) => a * b, 1);

/**
 * The values of a numeric tensor as float64 (exact for every type read here), from raw_data
 * (little-endian) or the typed fields. `what` names the tensor in errors (exit 3).
 */
export function tensorValues(t: OnnxTensor, what: string): Float64Array {
  const type = t.data_type ?? 0;
  const n = countOf(t);
  const fail = (problem: string): never => {
    throw invalidInput(`${what} ${problem}`);
  };
  if (t.data_location === 1 || t.external_data?.length)
    fail('keeps its data in an external file (ONNX external data), which digitkit does not read');
  if (t.segment) fail('is a segment of a larger tensor, which digitkit does not read');
  if (!Number.isSafeInteger(n) || n < 0) fail(`has invalid dims [${dimsOf(t).join(', ')}]`);
  const raw = t.raw_data;
  const out = new Float64Array(n);
  const shape = `[${dimsOf(t).join(', ')}]`;
  // Bytes per element of each type read here.
  const size = ({ 1: 4, 2: 1, 3: 1, 6: 4, 7: 8, 11: 8, 22: 0.5 } as Record<number, number>)[type];
  if (!size) return fail(`has element type ${typeName(type)}, expected a number type`);
  if (n === 0) return out;
  if (raw && raw.length) {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    if (raw.length !== Math.ceil(n * size))
      fail(`has ${raw.length} bytes of data, expected ${Math.ceil(n * size)} (${shape} ${typeName(type)})`);
    for (let i = 0; i < n; i++) {
      const o = i * size;
      out[i] =
        type === DataType.FLOAT
          ? dv.getFloat32(o, true)
          : type === DataType.DOUBLE
            ? dv.getFloat64(o, true)
            : type === DataType.INT8
              ? dv.getInt8(o)
              : type === DataType.UINT8
                ? dv.getUint8(o)
                : type === DataType.INT32
                  ? dv.getInt32(o, true)
                  : type === DataType.INT4
                    ? (((raw[i >> 1] >> ((i & 1) * 4)) & 15) << 28) >> 28
                    : Number(dv.getBigInt64(o, true));
    }
    return out;
  }
  const field =
    type === DataType.FLOAT
      ? t.float_data
      : type === DataType.DOUBLE
        ? t.double_data
        : type === DataType.INT64
          ? t.int64_data
          : t.int32_data;
  if (!field) return fail(`holds no data (${shape} ${typeName(type)})`);
  // int4 in int32_data: two nibbles per value, as raw_data's bytes would hold them.
  const have = type === DataType.INT4 ? field.length * 2 : field.length;
  if (have !== n && !(type === DataType.INT4 && have === n + 1))
    fail(
      `holds ${field.length} values, expected ${type === DataType.INT4 ? Math.ceil(n / 2) : n} (${shape} ${typeName(type)})`,
    );
  for (let i = 0; i < n; i++) {
    const v = Number(field[type === DataType.INT4 ? i >> 1 : i]);
    out[i] =
      type === DataType.INT8 ? (v << 24) >> 24 : type === DataType.INT4 ? (((v >> ((i & 1) * 4)) & 15) << 28) >> 28 : v;
  }
  return out;
}

/** An initializer with its data in raw_data (how ONNX writers store anything but tiny tensors). */
export function rawTensor(name: string, type: number, dims: number[], data: Uint8Array): OnnxTensor {
  return { name, data_type: type, dims, raw_data: data };
}

/** Little-endian bytes of float64 or float32 values (typed arrays are little-endian on every platform Node runs on). */
export function float64Bytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) dv.setFloat64(i * 8, values[i], true);
  return out;
}
export function float32Bytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i], true);
  return out;
}

/** A node attribute's value by name (undefined when absent). */
export function attribute(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return node.attribute?.find((a) => a.name === name);
}

/** "name (OpType)", how errors name a node; nodes without a name are named by their first output. */
export function nodeLabel(node: OnnxNode): string {
  const op = (node.domain && node.domain !== 'ai.onnx' ? node.domain + '.' : '') + (node.op_type || '?');
  return `node '${node.name || node.output?.[0] || '?'}' (${op})`;
}
