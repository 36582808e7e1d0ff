/**
 * IDX (the MNIST container format) parsing: a pure function from bytes to dims + a view of the data.
 * No copy of the payload is made; `data` is a Uint8Array over the caller's buffer.
 */
import { invalidInput } from '../errors.js';

export const IDX_IMAGES_MAGIC = 2051; // unsigned byte, 3 dims (count, rows, cols)
export const IDX_LABELS_MAGIC = 2049; // unsigned byte, 1 dim (count)

export interface Idx {
  magic: number;
  dims: number[];
  data: Uint8Array;
}

const KIND: Record<number, string> = { [IDX_IMAGES_MAGIC]: 'an image file', [IDX_LABELS_MAGIC]: 'a label file' };

/**
 * Parse an IDX file. `name` is used in error messages; `expectMagic` (2051 or 2049) rejects
 * a label file passed where images are expected and vice versa.
 */
export function parseIdx(bytes: Uint8Array, name: string, expectMagic?: number): Idx {
  if (bytes.length < 4) throw invalidInput(`${name}: file has ${bytes.length} bytes, too short for an IDX header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const typeCode = bytes[2];
  const ndims = bytes[3];
  if (bytes[0] !== 0 || bytes[1] !== 0 || typeCode !== 0x08) {
    throw invalidInput(
      `${name}: magic ${magic}, expected ${expectMagic ?? '2051 or 2049'} (not an unsigned-byte IDX file)`,
    );
  }
  if (expectMagic !== undefined && magic !== expectMagic) {
    throw invalidInput(
      `${name}: magic ${magic}, expected ${expectMagic} (${KIND[magic] ?? 'unknown kind'} given where ${KIND[expectMagic] ?? 'another kind'} was expected)`,
    );
  }
  const expectDims = magic === IDX_IMAGES_MAGIC ? 3 : magic === IDX_LABELS_MAGIC ? 1 : ndims;
  if (ndims !== expectDims || ndims === 0) {
    throw invalidInput(`${name}: header declares ${ndims} dimensions, expected ${expectDims}`);
  }
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes)
    throw invalidInput(`${name}: file has ${bytes.length} bytes, header needs ${headerBytes}`);
  const dims: number[] = [];
  let count = 1;
  for (let d = 0; d < ndims; d++) {
    const n = view.getUint32(4 + 4 * d, false);
    dims.push(n);
    count *= n;
  }
  if (magic === IDX_IMAGES_MAGIC && (dims[1] === 0 || dims[2] === 0)) {
    throw invalidInput(`${name}: image dimensions ${dims[1]}x${dims[2]}, expected positive sizes`);
  }
  const promised = headerBytes + count;
  if (bytes.length !== promised) {
    throw invalidInput(`${name}: header promises ${promised} bytes, file has ${bytes.length}`);
  }
  return { magic, dims, data: bytes.subarray(headerBytes) };
}
