/**
 * A fast path for the common PNG: 8-bit gray, gray+alpha, RGB or RGBA, not interlaced, no palette,
 * transparency chunk or ICC profile. Decoding it with node:zlib skips loading sharp (~100 ms of
 * start-up) and sharp's per-image pipeline cost, which dominate `digitkit predict one.png` and large
 * directories. Anything else returns null and goes to sharp, as does any image above the pixel limit,
 * so sharp's limit still refuses bombs, and any chunk with a wrong CRC, so corruption gets sharp's
 * error. The pixels are exactly what sharp gives for these files.
 */
import zlib from 'node:zlib';

export interface RawPng {
  width: number;
  height: number;
  /** 1 (gray) or 4 (RGBA) channels, 8-bit, row-major. */
  channels: 1 | 4;
  data: Uint8Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 4: 2, 6: 4 };

/** Undo the per-row PNG filters (`bpp` bytes per pixel); returns the rows without their filter bytes. */
function unfilter(raw: Uint8Array, width: number, height: number, bpp: number): Uint8Array | null {
  const stride = width * bpp;
  const out = new Uint8Array(stride * height);
  const zero = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const type = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    if (type === 0) {
      // No filter (what most encoders write for flat drawings): a copy, without the views below.
      out.set(line, y * stride);
      continue;
    }
    const cur = out.subarray(y * stride, (y + 1) * stride);
    // The first row filters against a row of zeros. Stores wrap modulo 256, as the filters require.
    const up = y > 0 ? out.subarray((y - 1) * stride, y * stride) : zero;
    switch (type) {
      case 1:
        for (let x = 0; x < stride; x++) cur[x] = line[x] + (x >= bpp ? cur[x - bpp] : 0);
        break;
      case 2:
        for (let x = 0; x < stride; x++) cur[x] = line[x] + up[x];
        break;
      case 3:
        for (let x = 0; x < stride; x++) cur[x] = line[x] + (((x >= bpp ? cur[x - bpp] : 0) + up[x]) >> 1);
        break;
      case 4:
        for (let x = 0; x < stride; x++) {
          const a = x >= bpp ? cur[x - bpp] : 0,
            b = up[x],
            c = x >= bpp ? up[x - bpp] : 0;
          const pa = Math.abs(b - c),
            pb = Math.abs(a - c),
            pc = Math.abs(a + b - 2 * c);
          cur[x] = line[x] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
        }
        break;
      default:
        return null;
    }
  }
  return out;
}

/**
 * Decode `bytes` if it is a PNG this fast path handles and has at most `maxPixels` pixels; null
 * means "ask sharp" (including for errors, so the message is sharp's).
 */
export async function decodeSimplePng(bytes: Uint8Array, maxPixels: number, colour = false): Promise<RawPng | null> {
  if (bytes.length < 33 || SIGNATURE.some((b, i) => bytes[i] !== b)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const idat: Uint8Array[] = [];
  let width = 0,
    height = 0,
    colourType = -1,
    ended = false;
  for (let at = 8; at + 12 <= bytes.length;) {
    const len = view.getUint32(at);
    const type = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
    const data = bytes.subarray(at + 8, at + 8 + len);
    if (data.length !== len) return null;
    // A chunk whose CRC does not match is corruption: sharp (libpng) refuses it, and names it.
    if (
      typeof zlib.crc32 !== 'function' ||
      zlib.crc32(bytes.subarray(at + 4, at + 8 + len)) !== view.getUint32(at + 8 + len)
    )
      return null;
    if (type === 'IHDR') {
      width = view.getUint32(at + 8);
      height = view.getUint32(at + 12);
      colourType = data[9];
      // 8-bit, deflate, standard filters, no interlace; a known colour type; within the limit.
      if (data[8] !== 8 || data[10] !== 0 || data[11] !== 0 || data[12] !== 0 || !(colourType in CHANNELS)) return null;
      if (width === 0 || height === 0 || width * height > maxPixels) return null;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') {
      ended = true;
      break;
    }
    // Palette, single-colour transparency and colour profiles change the pixels: sharp applies them.
    else if (type === 'PLTE' || type === 'tRNS' || type === 'iCCP') return null;
    at += 12 + len;
  }
  if (!ended || !width || idat.length === 0) return null;
  const bpp = CHANNELS[colourType];
  const expected = height * (width * bpp + 1);
  let raw: Uint8Array;
  try {
    // Synchronously: a hop to the thread pool and back cost more than the inflating itself (a
    // drawing's PNG inflates in about 0.1 ms), and on two cores that thread competes with this one.
    raw = zlib.inflateSync(idat.length === 1 ? idat[0] : Buffer.concat(idat), {
      maxOutputLength: expected + 1,
      chunkSize: Math.max(64, expected + 1),
    });
  } catch {
    return null;
  }
  if (raw.length !== expected) return null;
  const px = unfilter(raw, width, height, bpp);
  if (!px) return null;
  if (bpp === 1 || bpp === 4) return { width, height, channels: bpp, data: px };
  const n = width * height;
  if (bpp === 3 && !colour) {
    // RGB is opaque, where the core's toGray is (r + g + b) / 3 rounded (never a tie: thirds): the
    // same bytes in one pass, without an RGBA copy (a canvas of RGB pixels is the common PNG).
    const gray = new Uint8Array(n);
    for (let i = 0, o = 0; i < n; i++, o += 3) gray[i] = ((px[o] + px[o + 1] + px[o + 2] + 1) / 3) | 0;
    return { width, height, channels: 1, data: gray };
  }
  // Gray+alpha becomes RGBA, so the core's toGray flattens the alpha exactly as for sharp's output;
  // with `colour`, RGB becomes opaque RGBA.
  const rgba = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    if (bpp === 3) {
      rgba.set(px.subarray(3 * i, 3 * i + 3), 4 * i);
      rgba[4 * i + 3] = 255;
    } else {
      rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = px[2 * i];
      rgba[4 * i + 3] = px[2 * i + 1];
    }
  }
  return { width, height, channels: 4, data: rgba };
}
