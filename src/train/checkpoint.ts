/**
 * Training checkpoints: everything needed to continue a run bit-exactly, in one binary file.
 *
 *   "DKCKPT\r\n"             8-byte magic (the \r\n catches text-mode mangling, as PNG's does)
 *   u32 LE version (1), u32 LE header length H
 *   header: H bytes of UTF-8 JSON (format tag, config, dataset hashes, layout, loop progress), space-padded to 4 bytes
 *   float32 LE [params | Adam m | Adam v]    (3 x layout.count)
 *   int32 LE training order                  (only while an epoch is in progress)
 *   32-byte SHA-256 of everything above, so truncation or bit rot is caught before any number is used
 *
 * Written atomically (temp file + rename), so a crash leaves the previous checkpoint intact.
 */
import os from 'node:os';
import { createHash } from 'node:crypto';
import { invalidInput } from '../errors.js';
import { writeFileAtomic } from '../node/atomic.js';
import { checkJsonShape, readInputFile } from '../node/input-file.js';
import type { TrainConfig } from './config.js';
import type { TrainProgress } from './loop.js';

export const CHECKPOINT_FORMAT = 'digitkit-checkpoint';
export const CHECKPOINT_VERSION = 1;
const MAGIC = Buffer.from('DKCKPT\r\n', 'latin1');
const FIXED = MAGIC.length + 8;
const HASH = 32;

export interface Checkpoint {
  config: TrainConfig;
  /** SHA-256 of each MNIST file the run read. */
  dataset: Record<string, string>;
  /** Float count of one of params / m / v (layout.count). */
  paramCount: number;
  progress: TrainProgress;
  /** [params | m | v]. */
  state: Float32Array;
  /** The current epoch's order, present iff progress.orderDrawn. */
  order?: Int32Array;
  /** Where the run's teacher was read from (a resumed run reads it again and checks its sha256). */
  files?: { teacher?: string };
  /** Quantization-aware training with frozen scales: each quantized layer's scales. */
  qatScales?: number[][];
}

function littleEndian(): void {
  if (os.endianness() !== 'LE') throw new Error('checkpoints are little-endian; this host is big-endian');
}

export function encodeCheckpoint(ck: Checkpoint): Buffer {
  littleEndian();
  const header = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    config: ck.config,
    dataset: ck.dataset,
    paramCount: ck.paramCount,
    progress: ck.progress,
    orderLength: ck.order ? ck.order.length : 0,
    ...(ck.files && { files: ck.files }),
    ...(ck.qatScales && { qatScales: ck.qatScales }),
  };
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (4 - (json.length % 4)) % 4;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const fixed = Buffer.alloc(FIXED);
  MAGIC.copy(fixed, 0);
  fixed.writeUInt32LE(CHECKPOINT_VERSION, MAGIC.length);
  fixed.writeUInt32LE(json.length, MAGIC.length + 4);
  const parts = [fixed, json, Buffer.from(ck.state.buffer, ck.state.byteOffset, ck.state.byteLength)];
  if (ck.order) parts.push(Buffer.from(ck.order.buffer, ck.order.byteOffset, ck.order.byteLength));
  const body = Buffer.concat(parts);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

export async function writeCheckpoint(file: string, ck: Checkpoint): Promise<void> {
  await writeFileAtomic(file, encodeCheckpoint(ck));
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isNumArray = (x: unknown) => Array.isArray(x) && x.every(isNum);

export function decodeCheckpoint(bytes: Uint8Array, file: string): Checkpoint {
  littleEndian();
  const bad = (what: string) =>
    invalidInput(`${file}: ${what}; not a usable checkpoint (start the run again without --resume)`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < FIXED + HASH || !buf.subarray(0, MAGIC.length).equals(MAGIC))
    throw bad('not a digitkit checkpoint (bad magic)');
  const version = buf.readUInt32LE(MAGIC.length);
  if (version !== CHECKPOINT_VERSION)
    throw bad(`checkpoint version ${version}, this digitkit reads version ${CHECKPOINT_VERSION}`);
  const body = buf.subarray(0, buf.length - HASH);
  if (
    !createHash('sha256')
      .update(body)
      .digest()
      .equals(buf.subarray(buf.length - HASH))
  )
    throw bad('checksum mismatch (truncated or corrupted)');
  const headerLen = buf.readUInt32LE(MAGIC.length + 4);
  if (headerLen % 4 !== 0 || FIXED + headerLen > body.length) throw bad(`header length ${headerLen} is invalid`);
  checkJsonShape(buf.subarray(FIXED, FIXED + headerLen), file);
  let h: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(buf.subarray(FIXED, FIXED + headerLen).toString('utf8'));
    if (!isObj(parsed)) throw new Error('not an object');
    h = parsed;
  } catch {
    throw bad('header is not valid JSON');
  }
  if (h.format !== CHECKPOINT_FORMAT)
    throw bad(`format is ${JSON.stringify(h.format)}, expected "${CHECKPOINT_FORMAT}"`);
  const p = h.progress;
  if (!isObj(h.config) || !isObj(h.dataset) || !isObj(p) || !isObj(p.history))
    throw bad('header lacks config, dataset or progress');
  if (
    !Number.isInteger(h.paramCount) ||
    (h.paramCount as number) <= 0 ||
    !Number.isInteger(h.orderLength) ||
    (h.orderLength as number) < 0
  )
    throw bad('header has invalid sizes');
  for (const k of ['epoch', 'stepInEpoch', 'step', 'epochLoss', 'epochCorrect', 'epochSeen'] as const)
    if (!isNum(p[k])) throw bad(`progress.${k} is missing`);
  if (!isNumArray(p.rng) || (p.rng as number[]).length !== 4 || typeof p.orderDrawn !== 'boolean')
    throw bad('progress.rng or progress.orderDrawn is invalid');
  const paramCount = h.paramCount as number;
  const orderLength = h.orderLength as number;
  if (p.orderDrawn !== orderLength > 0) throw bad('training order does not match progress.orderDrawn');
  const stateBytes = 3 * paramCount * 4;
  if (body.length !== FIXED + headerLen + stateBytes + orderLength * 4)
    throw bad(`holds ${body.length} bytes, its header promises ${FIXED + headerLen + stateBytes + orderLength * 4}`);
  // Copy into fresh, aligned arrays (the file buffer's offsets need not be multiples of 4).
  const at = FIXED + headerLen;
  const state = new Float32Array(3 * paramCount);
  new Uint8Array(state.buffer).set(buf.subarray(at, at + stateBytes));
  let order: Int32Array | undefined;
  if (orderLength > 0) {
    order = new Int32Array(orderLength);
    new Uint8Array(order.buffer).set(buf.subarray(at + stateBytes, at + stateBytes + orderLength * 4));
  }
  for (let i = 0; i < state.length; i++)
    if (!Number.isFinite(state[i])) throw bad(`non-finite parameter or moment at index ${i}`);
  const files = h.files;
  if (files !== undefined && (!isObj(files) || (files.teacher !== undefined && typeof files.teacher !== 'string')))
    throw bad('files is invalid');
  const qs = h.qatScales;
  if (qs !== undefined && (!Array.isArray(qs) || !qs.every((a) => isNumArray(a) && a.every((x: number) => x > 0))))
    throw bad('qatScales is invalid');
  return {
    config: h.config as unknown as TrainConfig,
    dataset: h.dataset as Record<string, string>,
    paramCount,
    progress: p as unknown as TrainProgress,
    state,
    order,
    ...(files !== undefined && { files: files as Checkpoint['files'] }),
    ...(qs !== undefined && { qatScales: qs as number[][] }),
  };
}

export async function readCheckpoint(file: string): Promise<Checkpoint> {
  return decodeCheckpoint(await readInputFile(file, { kind: 'checkpoint', missing: 'no such checkpoint' }), file);
}
