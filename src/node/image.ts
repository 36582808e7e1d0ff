/**
 * Image files -> gray pixels for the core's `preprocess` (outside the core, so the browser build never
 * sees it): common PNGs through the node:zlib fast path (png.ts), everything else through sharp, then
 * the core's `toGray` either way. Every problem is a DigitkitError with exit code 5 naming the input.
 */
import type { Sharp, SharpOptions } from 'sharp';
import { toGray } from '../core/index.js';
import { DigitkitError, ExitCode } from '../errors.js';
import { importOptional } from './optional.js';
import { decodeSimplePng } from './png.js';

// sharp costs ~100 ms to load: only load it for an image the PNG fast path does not take.
let sharpModule: Promise<(input?: Uint8Array, options?: SharpOptions) => Sharp> | undefined;
const loadSharp = () => (sharpModule ??= importOptional<typeof import('sharp')>('sharp').then((m) => m.default));

/** Larger images are refused from their header, before any pixel is decoded (a 48 MP photo fits). */
export const MAX_IMAGE_PIXELS = 50_000_000;

/** File extensions a directory scan picks up (case-insensitive). */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif'];

export interface GrayImage {
  width: number;
  height: number;
  /** width*height gray values 0..255, alpha flattened onto white (the core's `toGray`). */
  gray: Uint8ClampedArray;
  format: string;
}

export const imageRejected = (name: string, reason: string) =>
  new DigitkitError(ExitCode.imageRejected, `${name}: ${reason}`);

/**
 * The format from the file's first bytes, or null. Only these reach sharp: the name decides nothing,
 * and loaders we do not want for untrusted input (SVG with its external references) are never tried.
 */
export function sniffImageFormat(b: Uint8Array): string | null {
  const ascii = (from: number, to: number) => String.fromCharCode(...b.subarray(from, to));
  if (b.length >= 8 && ascii(1, 4) === 'PNG' && b[0] === 0x89 && b[4] === 0x0d && b[5] === 0x0a) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (ascii(0, 4) === 'GIF8') return 'gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return 'tiff';
  if (ascii(4, 8) === 'ftyp' && /^avi[fs]$/.test(ascii(8, 12))) return 'avif';
  return null;
}

/** Why sharp refused, in words a user can act on. */
function describeDecodeError(bytes: Uint8Array, format: string, libvips: string): string {
  // libvips can report a line more than once, and over several lines: one line, each reason once.
  const message = [
    ...new Set(
      libvips
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean),
    ),
  ].join('; ');
  if (/pixel limit/i.test(message)) {
    // PNG keeps its size at a fixed offset: say how large the header claims the image is.
    const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const claim = format === 'png' && bytes.length >= 24 ? `${v.getUint32(16)}x${v.getUint32(20)} ` : '';
    return `image ${claim}is larger than the ${MAX_IMAGE_PIXELS}-pixel limit (refused before decoding)`;
  }
  // With failOn 'warning', damaged data surfaces as the warning itself or as libvips' generic
  // "Warning treated as error" (which one depends on the decoder).
  if (/premature end|truncat|unexpected end|read error|not enough data|treated as error/i.test(message)) {
    return `truncated or corrupt ${format.toUpperCase()} (${message})`;
  }
  return `cannot decode ${format.toUpperCase()} (${message})`;
}

/** Decoded pixels: 1 channel (gray, from the PNG fast path) or 4 (RGBA), 8-bit, row-major. */
interface RawPixels {
  width: number;
  height: number;
  channels: 1 | 4;
  data: Uint8Array;
  format: string;
}

/** Decode an image file's bytes (`name` is used in errors), refusing bombs by their header. */
async function decodeRaw(bytes: Uint8Array, name: string, pngFastPath: boolean, colour = false): Promise<RawPixels> {
  if (bytes.length === 0) throw imageRejected(name, 'empty file (0 bytes)');
  const format = sniffImageFormat(bytes);
  if (!format) throw imageRejected(name, 'not an image (expected PNG, JPEG, WebP, GIF, TIFF or AVIF)');
  if (format === 'png' && pngFastPath) {
    const png = await decodeSimplePng(bytes, MAX_IMAGE_PIXELS, colour);
    if (png) return { ...png, format };
  }
  const sharp = await loadSharp();
  try {
    // failOn 'warning' (sharp's default, stated here) also refuses truncated data it could half-decode;
    // autoOrient turns phone photos upright; sRGB + alpha gives 4 channels whatever the file holds.
    const { data, info } = await sharp(bytes, {
      limitInputPixels: MAX_IMAGE_PIXELS,
      failOn: 'warning',
      autoOrient: true,
    })
      .toColourspace('srgb')
      .ensureAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, channels: 4, data, format };
  } catch (err) {
    throw imageRejected(name, describeDecodeError(bytes, format, (err as Error).message));
  }
}

/** Decode an image file's bytes (`name` is used in errors) to gray pixels, refusing bombs by their header. */
export async function decodeImage(
  bytes: Uint8Array,
  name: string,
  opts: { pngFastPath?: boolean } = {},
): Promise<GrayImage> {
  const { width, height, channels, data, format } = await decodeRaw(bytes, name, opts.pngFastPath !== false);
  const gray = channels === 1 ? new Uint8ClampedArray(data.buffer, data.byteOffset, data.length) : toGray(data);
  return { width, height, gray, format };
}

export interface RgbaImage {
  width: number;
  height: number;
  /** width*height*4 bytes, R G B A. */
  rgba: Uint8Array;
  format: string;
}

/**
 * Decode an image file's bytes to RGBA, as a canvas's getImageData gives them: what the core's
 * `prepareImage` takes, for models that see colour or the whole picture ("resize"). Same decoders and
 * limits as `decodeImage`.
 */
export async function decodeImageRgba(
  bytes: Uint8Array,
  name: string,
  opts: { pngFastPath?: boolean } = {},
): Promise<RgbaImage> {
  const { width, height, channels, data, format } = await decodeRaw(bytes, name, opts.pngFastPath !== false, true);
  if (channels === 4) return { width, height, rgba: data, format };
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = data[i];
    rgba[4 * i + 3] = 255;
  }
  return { width, height, rgba, format };
}

/** A model's input pixels (28x28 gray by default; for a digit ink = 255 on 0) as a PNG, so a user can see what the model saw. */
export async function encodeInputPng(
  pixels: Uint8Array | Uint8ClampedArray,
  width = 28,
  height = width,
  channels = 1,
): Promise<Buffer> {
  const sharp = await loadSharp();
  const img = sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), {
    raw: { width, height, channels: channels as 1 | 3 },
  });
  return (channels === 1 ? img.toColourspace('b-w') : img).png().toBuffer();
}
