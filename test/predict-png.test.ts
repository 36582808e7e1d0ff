// The PNG fast path (node:zlib instead of sharp) must give exactly the pixels sharp gives, and hand
// everything it does not handle to sharp.
import zlib from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeImage, MAX_IMAGE_PIXELS } from '../src/node/image.js';
import { decodeSimplePng } from '../src/node/png.js';
import { digitAt, loadT10k, PNG_SIGNATURE, pngChunk, renderDigit, rng, type Look } from './helpers/render.js';

/** A PNG written by hand, every row with the given filter (or cycling through all five). */
function encodePng(px: Uint8Array, width: number, height: number, colourType: number, filter: number | 'all'): Buffer {
  const bpp = { 0: 1, 2: 3, 4: 2, 6: 4 }[colourType]!;
  const stride = width * bpp;
  const raw = Buffer.alloc(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const f = filter === 'all' ? y % 5 : filter;
    raw[y * (stride + 1)] = f;
    for (let x = 0; x < stride; x++) {
      const cur = px[y * stride + x];
      const a = x >= bpp ? px[y * stride + x - bpp] : 0;
      const b = y > 0 ? px[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y > 0 ? px[(y - 1) * stride + x - bpp] : 0;
      const pa = Math.abs(b - c),
        pb = Math.abs(a - c),
        pc = Math.abs(a + b - 2 * c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][f];
      raw[y * (stride + 1) + 1 + x] = (cur - pred) & 255;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = colourType;
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(raw)),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

/** Noisy pixels with every byte value, so every filter's arithmetic wraps. */
function noise(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
}

async function bothWays(png: Buffer) {
  const fast = await decodeImage(png, 'x.png');
  const slow = await decodeImage(png, 'x.png', { pngFastPath: false });
  return { fast, slow };
}

describe('PNG fast path', () => {
  it('undoes all five filters in all four colour types, byte for byte', async () => {
    for (const colourType of [0, 2, 4, 6]) {
      const bpp = { 0: 1, 2: 3, 4: 2, 6: 4 }[colourType]!;
      const [w, h] = [37, 23];
      const px = noise(w * h * bpp, colourType + 1);
      for (const filter of [0, 1, 2, 3, 4, 'all'] as const) {
        const png = encodePng(px, w, h, colourType, filter);
        const raw = await decodeSimplePng(png, MAX_IMAGE_PIXELS);
        expect(raw, `type ${colourType} filter ${filter}`).not.toBeNull();
        if (colourType === 0 || colourType === 6) expect(Buffer.from(raw!.data).equals(Buffer.from(px))).toBe(true);
        const { fast, slow } = await bothWays(png);
        expect(Buffer.from(fast.gray).equals(Buffer.from(slow.gray)), `type ${colourType} filter ${filter}`).toBe(true);
      }
    }
  });

  it('turns RGB into the gray toGray gives, for every r + g + b', async () => {
    // One pixel per sum 0..765, each split differently across the channels.
    const px = new Uint8Array(766 * 3);
    for (let s = 0; s <= 765; s++) {
      const r = Math.min(255, s, (s * 7) % 256),
        g = Math.min(255, s - r),
        b = s - r - g;
      px.set(b <= 255 ? [r, g, b] : [255, 255, 255 - (765 - s)], 3 * s);
    }
    for (let s = 0; s <= 765; s++) expect(px[3 * s] + px[3 * s + 1] + px[3 * s + 2]).toBe(s);
    const { fast, slow } = await bothWays(encodePng(px, 766, 1, 2, 0));
    expect(Buffer.from(fast.gray).equals(Buffer.from(slow.gray))).toBe(true);
  });

  it('gives the same gray pixels as sharp for rendered digits in every PNG flavour sharp writes', async () => {
    const t = await loadT10k();
    const look: Look = { width: 150, height: 130, size: [60, 110], ink: [20, 30, 160], background: null };
    const rgba = (await renderDigit(digitAt(t, 8).pixels, look, rng(8))).bytes;
    const flavours: Record<string, Buffer> = {
      rgba,
      rgb: await sharp(rgba).flatten({ background: '#fffbe0' }).png().toBuffer(),
      gray: await sharp(rgba).flatten({ background: '#ffffff' }).greyscale().png().toBuffer(),
      'gray+alpha': await sharp(rgba).greyscale().png().toBuffer(),
      'no filtering, level 0': await sharp(rgba).png({ adaptiveFiltering: false, compressionLevel: 0 }).toBuffer(),
    };
    for (const [name, png] of Object.entries(flavours)) {
      expect(await decodeSimplePng(png, MAX_IMAGE_PIXELS), name).not.toBeNull();
      const { fast, slow } = await bothWays(png);
      expect([fast.width, fast.height]).toEqual([slow.width, slow.height]);
      expect(Buffer.from(fast.gray).equals(Buffer.from(slow.gray)), name).toBe(true);
    }
  });

  it('leaves palette, 16-bit, interlaced, truncated and oversized PNGs to sharp', async () => {
    const base = sharp({ create: { width: 40, height: 30, channels: 3, background: '#208040' } });
    const handedOver: Record<string, Buffer> = {
      palette: await base.clone().png({ palette: true }).toBuffer(),
      '16-bit': await base.clone().toColourspace('rgb16').png().toBuffer(),
      interlaced: await base.clone().png({ progressive: true }).toBuffer(),
    };
    for (const [name, png] of Object.entries(handedOver)) {
      expect(await decodeSimplePng(png, MAX_IMAGE_PIXELS), name).toBeNull();
      // ... and sharp decodes them.
      expect((await decodeImage(png, `${name}.png`)).gray.length, name).toBe(40 * 30);
    }
    const whole = await base.clone().png().toBuffer();
    expect(await decodeSimplePng(whole, MAX_IMAGE_PIXELS)).not.toBeNull();
    expect(await decodeSimplePng(whole.subarray(0, whole.length - 20), MAX_IMAGE_PIXELS)).toBeNull();
    expect(await decodeSimplePng(whole, 40 * 30 - 1)).toBeNull();
    // One bit flipped in a chunk's CRC (the data intact) or in the compressed data: sharp's to judge,
    // and sharp refuses both.
    const idat = whole.indexOf('IDAT') + 4;
    const crcEnd = idat + whole.readUInt32BE(idat - 8);
    for (const at of [crcEnd, idat + 2]) {
      const bad = Buffer.from(whole);
      bad[at] ^= 1;
      expect(await decodeSimplePng(bad, MAX_IMAGE_PIXELS), `byte ${at}`).toBeNull();
      await expect(decodeImage(bad, 'bad.png')).rejects.toThrow(/bad\.png: truncated or corrupt PNG/);
    }
  });
});
