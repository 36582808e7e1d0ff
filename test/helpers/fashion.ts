// Real pictures for the dataset tests: Fashion-MNIST's test images from Debian's dataset-fashion-mnist
// (.ci/run installs it), read straight from its gzips, and written out as image folders of mixed
// formats and sizes, optionally tinted per class (RGB pictures whose colour carries information).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';

export const FASHION_DEBIAN = '/usr/share/datasets/fashion-mnist';
export const FASHION_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];
/** Folder names for the classes ("T-shirt/top" cannot be one). */
export const folderName = (c: number) => FASHION_CLASSES[c].replace('/', '-');

export const fashionAvailable = () => fs.existsSync(path.join(FASHION_DEBIAN, 't10k-images-idx3-ubyte.gz'));

let cached: { images: Uint8Array; labels: Uint8Array } | undefined;

/** The 10,000 t10k images (28x28, 784 bytes each) and labels. */
export function fashionT10k(): { images: Uint8Array; labels: Uint8Array } {
  cached ??= {
    images: zlib.gunzipSync(fs.readFileSync(path.join(FASHION_DEBIAN, 't10k-images-idx3-ubyte.gz'))).subarray(16),
    labels: zlib.gunzipSync(fs.readFileSync(path.join(FASHION_DEBIAN, 't10k-labels-idx1-ubyte.gz'))).subarray(8),
  };
  return cached;
}

/** The indices of the first `n` t10k images of class `c` after skipping `skip` of them. */
export function indicesOf(c: number, n: number, skip = 0): number[] {
  const { labels } = fashionT10k();
  const out: number[] = [];
  for (let i = 0, seen = 0; i < labels.length && out.length < n; i++)
    if (labels[i] === c && seen++ >= skip) out.push(i);
  return out;
}

const TINTS = [
  { r: 255, g: 80, b: 80 },
  { r: 80, g: 200, b: 80 },
  { r: 80, g: 120, b: 255 },
  { r: 230, g: 200, b: 40 },
  { r: 200, g: 80, b: 220 },
];
const SIZES: [number, number][] = [
  [28, 28],
  [40, 40],
  [56, 56],
  [33, 47],
  [64, 36],
];
const FORMATS = ['png', 'jpg', 'webp'] as const;

/**
 * An image file of t10k image `i`: `variant` picks its size and format (PNG, JPEG, WebP in turn), and
 * with `tint` the gray picture is coloured (per class).
 */
export async function pictureFile(i: number, variant: number, tint?: number): Promise<{ bytes: Buffer; ext: string }> {
  const { images } = fashionT10k();
  let img = sharp(Buffer.from(images.subarray(i * 784, (i + 1) * 784)), {
    raw: { width: 28, height: 28, channels: 1 },
  });
  const [w, h] = SIZES[variant % SIZES.length];
  img = img.resize(w, h, { fit: 'fill' });
  if (tint !== undefined) img = img.toColourspace('srgb').tint(TINTS[tint % TINTS.length]);
  const ext = FORMATS[variant % FORMATS.length];
  const bytes = await (
    ext === 'png' ? img.png() : ext === 'jpg' ? img.jpeg({ quality: 90 }) : img.webp({ quality: 90 })
  ).toBuffer();
  return { bytes, ext };
}

/**
 * Write an image folder under `root`: one subfolder per class in `classes` (Fashion-MNIST class
 * indices), `perClass` pictures each (t10k images from `skip` on), mixed sizes and formats; `tint`
 * colours each class's pictures differently. Returns the files written per class.
 */
export async function writeFashionFolder(
  root: string,
  classes: number[],
  perClass: number,
  opts: { skip?: number; tint?: boolean } = {},
): Promise<Record<string, string[]>> {
  const written: Record<string, string[]> = {};
  for (const c of classes) {
    const dir = path.join(root, folderName(c));
    fs.mkdirSync(dir, { recursive: true });
    // Filled by index, not in completion order: callers rely on file k having variant k's format.
    const files: string[] = (written[folderName(c)] = []);
    const idx = indicesOf(c, perClass, opts.skip ?? 0);
    await Promise.all(
      idx.map(async (i, k) => {
        const { bytes, ext } = await pictureFile(i, k, opts.tint ? c : undefined);
        const file = path.join(dir, `${String(i).padStart(5, '0')}.${ext}`);
        fs.writeFileSync(file, bytes);
        files[k] = file;
      }),
    );
  }
  return written;
}
