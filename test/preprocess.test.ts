// The core's preprocessing on its own (no model): the recipe must turn a real MNIST test digit drawn
// large, anywhere, in any polarity, back into (nearly) the original 28x28 digit.
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { preprocess, toGray } from '../dist/core/index.js';
import { blankPaperJpeg, digitAt, LOOKS, loadT10k, renderDigit, rng, type Look } from './helpers/render.js';

/** Decode like `predict` does (sharp -> RGBA -> the core's toGray). */
async function gray(bytes: Buffer) {
  const { data, info } = await sharp(bytes)
    .toColourspace('srgb')
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { g: toGray(data), w: info.width, h: info.height };
}

function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ma = 0,
    mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= a.length;
  mb /= b.length;
  let s = 0,
    sa = 0,
    sb = 0;
  for (let i = 0; i < a.length; i++) {
    s += (a[i] - ma) * (b[i] - mb);
    sa += (a[i] - ma) ** 2;
    sb += (b[i] - mb) ** 2;
  }
  return s / Math.sqrt(sa * sb);
}

function centreOfMass(p: ArrayLike<number>): [number, number] {
  let m = 0,
    x = 0,
    y = 0;
  for (let i = 0; i < 784; i++) {
    m += p[i];
    x += (i % 28) * p[i];
    y += Math.floor(i / 28) * p[i];
  }
  return [x / m, y / m];
}

function inkBox(p: ArrayLike<number>): { w: number; h: number } {
  let x0 = 28,
    x1 = -1,
    y0 = 28,
    y1 = -1;
  for (let i = 0; i < 784; i++)
    if (p[i] > 0) {
      const x = i % 28,
        y = Math.floor(i / 28);
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
  return { w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('preprocess: the recipe, checked against the original MNIST digits', () => {
  it('a t10k digit drawn large and off-centre comes back as the original 28x28 digit', async () => {
    const t = await loadT10k();
    const r = rng(7);
    const look: Look = {
      width: 300,
      height: 260,
      size: [60, 240],
      ink: [0, 0, 0],
      background: [255, 255, 255],
      crisp: false,
    };
    const corr: number[] = [];
    let off = 0;
    for (let k = 0; k < 150; k++) {
      const d = digitAt(t, 37 * k + 5);
      const { g, w, h } = await gray((await renderDigit(d.pixels, look, r)).bytes);
      const p = preprocess(g, w, h);
      expect(p.found).toBe(true);
      expect(p.inverted).toBe(true);
      // MNIST's own geometry: longer side 20 px, centre of mass at (14, 14) up to the integer shift.
      const box = inkBox(p.pixels);
      expect(Math.max(box.w, box.h)).toBe(20);
      const [cx, cy] = centreOfMass(p.pixels);
      off = Math.max(off, Math.abs(cx - 14), Math.abs(cy - 14));
      corr.push(correlation(p.pixels, d.pixels));
    }
    // For scale: the same digit shifted by one pixel correlates ~0.77 with itself, by two ~0.44.
    console.log(
      `recipe: correlation with the original t10k digit over ${corr.length} renders: mean ${mean(corr).toFixed(3)}, min ${Math.min(...corr).toFixed(3)}`,
    );
    console.log(`recipe: centre of mass at most ${off.toFixed(2)} px from (14, 14)`);
    expect(off).toBeLessThan(0.65);
    expect(mean(corr)).toBeGreaterThan(0.93);
    expect(corr.filter((c) => c < 0.8).length).toBeLessThanOrEqual(corr.length * 0.05);
  });

  it('the original 28x28 digits pass through nearly unchanged', async () => {
    const t = await loadT10k();
    const corr: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const d = digitAt(t, i);
      const p = preprocess(d.pixels, 28, 28);
      expect(p.inverted).toBe(false);
      corr.push(correlation(p.pixels, d.pixels));
    }
    console.log(
      `recipe: correlation of t10k digits with themselves after preprocessing: mean ${mean(corr).toFixed(4)}`,
    );
    expect(mean(corr)).toBeGreaterThan(0.98);
  });

  it('polarity and colour do not matter: every look of one digit gives nearly the same input', async () => {
    const t = await loadT10k();
    const d = digitAt(t, 0);
    const base: Look = { width: 200, height: 200, size: [120, 120], ink: [0, 0, 0], background: [255, 255, 255] };
    const looks: [string, Look, boolean][] = [
      ['dark on light', base, true],
      ['light on dark', { ...base, ink: [255, 255, 255], background: [0, 0, 0] }, false],
      ['transparent background, dark strokes', { ...base, ink: [20, 20, 20], background: null }, true],
      // White ink on a transparent background: the ink is the alpha (flattened onto white it would vanish).
      ['transparent background, white strokes', { ...base, ink: [255, 255, 255], background: null }, false],
      ['transparent background, yellow strokes', { ...base, ink: [255, 220, 0], background: null }, false],
      ['blue on yellow', { ...base, ink: [20, 40, 200], background: [255, 235, 120] }, true],
      ['yellow on navy', { ...base, ink: [255, 220, 0], background: [30, 30, 90] }, false],
      ['black on dark grey', { ...base, ink: [0, 0, 0], background: [90, 90, 90] }, true],
      ['white on light grey', { ...base, ink: [255, 255, 255], background: [150, 150, 150] }, false],
    ];
    const ref = preprocess(
      ...(Object.values(await gray((await renderDigit(d.pixels, base, rng(1))).bytes)) as [
        Uint8ClampedArray,
        number,
        number,
      ]),
    );
    for (const [name, look, inverted] of looks) {
      // Same seed: same size and position, only the colours differ.
      const { g, w, h } = await gray((await renderDigit(d.pixels, look, rng(1))).bytes);
      const p = preprocess(g, w, h);
      expect(p.found, name).toBe(true);
      expect(p.inverted, name).toBe(inverted);
      expect(correlation(p.pixels, ref.pixels), name).toBeGreaterThan(0.97);
    }
  });

  it('the background is the border, not the mean: a big bold digit on white is still dark on light', () => {
    const w = 60,
      h = 60,
      g = new Uint8Array(w * h).fill(255);
    // A thick ring covering most of the image: the mean is dark, the border is white.
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const r = Math.hypot(x - 29.5, y - 29.5);
        if (r > 8 && r < 29) g[y * w + x] = 0;
      }
    const p = preprocess(g, w, h);
    expect(p.inverted).toBe(true);
    expect(p.found).toBe(true);
    // A ring: ink around the centre, none in it.
    expect(p.pixels[14 * 28 + 14]).toBe(0);
    expect(p.pixels[14 * 28 + 6]).toBeGreaterThan(200);
  });

  it('--invert yes/no force the polarity; the wrong one finds no digit rather than guessing', async () => {
    const t = await loadT10k();
    const { g, w, h } = await gray(
      (await renderDigit(digitAt(t, 3).pixels, LOOKS['canvas 200x200'] as Look, rng(3))).bytes,
    );
    expect(preprocess(g, w, h, true).found).toBe(true);
    expect(preprocess(g, w, h, true).pixels).toEqual(preprocess(g, w, h).pixels);
    const wrong = preprocess(g, w, h, false);
    expect(wrong.found).toBe(false);
    expect(wrong.pixels.every((v) => v === 0)).toBe(true);
  });

  it('thin strokes from a large image do not vanish', () => {
    // A "0" drawn with a 3-px pen on a 1000x1000 canvas: at 28x28 the stroke is 0.07 px of area.
    const w = 1000,
      h = 1000,
      g = new Uint8Array(w * h).fill(255);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const r = Math.hypot((x - 500) / 280, (y - 480) / 400);
        if (Math.abs(r - 1) * 340 < 1.5) g[y * w + x] = 0;
      }
    const p = preprocess(g, w, h);
    expect(p.found).toBe(true);
    const bright = Array.from(p.pixels).filter((v) => v >= 128).length;
    // MNIST's zeros have ~60-100 pixels above 128; a vanished stroke would have none.
    expect(bright).toBeGreaterThan(40);
    expect(Math.max(...p.pixels)).toBe(255);
    expect(p.pixels[14 * 28 + 14]).toBe(0);
  });

  it('blank images, noise and specks are "no digit", never a guess', async () => {
    const blank = (v: number) => new Uint8Array(100 * 80).fill(v);
    for (const v of [0, 128, 255]) expect(preprocess(blank(v), 100, 80).found).toBe(false);
    // JPEG of a white page with a faint gradient and compression noise.
    const page = await blankPaperJpeg(200, 150, '#f4f1ea', { mean: 235, sigma: 6 }, 40);
    const { g, w, h } = await gray(page);
    expect(preprocess(g, w, h).found).toBe(false);
    // One dark speck of dust.
    const speck = blank(255);
    speck[40 * 100 + 50] = speck[40 * 100 + 51] = 0;
    expect(preprocess(speck, 100, 80).found).toBe(false);
  });

  it('refuses a buffer that is not w*h gray values (RGBA passed without toGray, say)', () => {
    const rgba = new Uint8ClampedArray(10 * 8 * 4);
    expect(() => preprocess(rgba, 10, 8)).toThrow(RangeError);
    expect(() => preprocess(toGray(rgba), 10, 8)).not.toThrow();
    expect(() => preprocess(new Uint8Array(0), 0, 0)).toThrow(RangeError);
  });

  it('toGray flattens alpha onto white', () => {
    const rgba = Uint8ClampedArray.from([0, 0, 0, 0, 0, 0, 0, 255, 0, 0, 0, 128, 255, 0, 0, 255, 30, 60, 90, 255]);
    expect(Array.from(toGray(rgba))).toEqual([255, 0, 127, 85, 60]);
  });

  it('toGray takes light ink on a transparent background from the alpha (flattened onto black)', () => {
    // Three transparent pixels out of five: the background is transparent; the ink is white, so it
    // would vanish on white. Its alpha is the ink: 255, 128 (and a transparent pixel is 0).
    const white = Uint8ClampedArray.from([
      255, 255, 255, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 128, 9, 9, 9, 0,
    ]);
    expect(Array.from(toGray(white))).toEqual([0, 0, 255, 128, 0]);
    // Dark ink on a transparent background stays on white (as before), and an opaque picture is untouched
    // even when its content is light.
    const dark = Uint8ClampedArray.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 30, 30, 30, 255, 0, 0, 0, 0]);
    expect(Array.from(toGray(dark))).toEqual([255, 255, 0, 30, 255]);
    const opaque = Uint8ClampedArray.from([255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0]);
    expect(Array.from(toGray(opaque))).toEqual([255, 255, 255]);
  });
});
