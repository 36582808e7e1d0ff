/**
 * Colour scales for the report images. A sequential one (heatColor: how full a cell is, for eval's
 * confusion matrix and explain's hidden layers), and attribution maps (`digitkit explain` panels,
 * eval's errors-explained.png):
 * a diverging scale, red where the input raises the class and blue where it lowers it, over the digit
 * drawn as dark ink on white, painted pixel by pixel into a canvas rendered from SVG (render.ts).
 * The scale is symmetric (±max) so white always means 0; the legend says what max is.
 */
import type { Canvas } from './render.js';
import { MUTED, rect, text } from './svg.js';

/** Full-strength colours at +max (raises the class) and -max (lowers it). */
export const RAISE: readonly number[] = [200, 30, 30];
export const LOWER: readonly number[] = [25, 80, 200];

/**
 * The colour of attribution `t` (in -1..1, a share of the scale's max) over a background of gray `g`:
 * the background faded towards the colour by |t|.
 */
export function heatRgb(t: number, g = 255): [number, number, number] {
  const c = t >= 0 ? RAISE : LOWER,
    a = Math.min(1, Math.abs(t));
  return [0, 1, 2].map((k) => Math.round(g + (c[k] - g) * a)) as [number, number, number];
}

/** The scale for a map: its largest |value| (1 for an all-zero map, so nothing divides by 0). */
export function scaleOf(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]));
  return m || 1;
}

function fill(c: Canvas, x: number, y: number, zoom: number, rgb: readonly number[]): void {
  for (let dy = 0; dy < zoom; dy++) {
    const o = ((y + dy) * c.width + x) * 3;
    for (let dx = 0; dx < zoom; dx++) c.data.set(rgb, o + dx * 3);
  }
}

/** A `side`x`side` image (0..255, ink = 255) as dark ink on white, each pixel `zoom`x`zoom`, top-left at (x, y). */
export function paintDigit(c: Canvas, x: number, y: number, zoom: number, pixels: ArrayLike<number>, side = 28): void {
  for (let r = 0; r < side; r++)
    for (let k = 0; k < side; k++) {
      const v = 255 - pixels[r * side + k];
      fill(c, x + k * zoom, y + r * zoom, zoom, [v, v, v]);
    }
}

/**
 * An attribution map over its digit: each pixel the digit's gray (lightened so the colours read)
 * tinted by value / max. `max` defaults to the map's own scale.
 */
export function paintAttribution(
  c: Canvas,
  x: number,
  y: number,
  zoom: number,
  pixels: ArrayLike<number>,
  values: ArrayLike<number>,
  max = scaleOf(values),
  side = 28,
): void {
  for (let r = 0; r < side; r++)
    for (let k = 0; k < side; k++) {
      const i = r * side + k;
      fill(c, x + k * zoom, y + r * zoom, zoom, heatRgb(values[i] / max, 255 - pixels[i] * 0.6));
    }
}

/** A number for a legend: 3 significant digits, exponent form when very small or large. */
export function legendNumber(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  return a >= 1e-3 && a < 1e4 ? String(Number(v.toPrecision(3))) : v.toExponential(2);
}

/** The legend under a map: a blue-white-red bar from -max to +max (`width` wide at (x, y)) with its numbers. */
export function legendSvg(x: number, y: number, width: number, max: number, caption?: string): string[] {
  const steps = 40,
    w = width / steps,
    out: string[] = [];
  for (let s = 0; s < steps; s++) {
    const [r, g, b] = heatRgb(((s + 0.5) / steps) * 2 - 1);
    out.push(rect(x + s * w, y, w + 0.5, 10, `rgb(${r},${g},${b})`));
  }
  out.push(
    rect(x, y, width, 10, 'none', '#999999'),
    text(x, y + 24, legendNumber(-max), { size: 11, fill: MUTED }),
    text(x + width / 2, y + 24, '0', { size: 11, fill: MUTED, anchor: 'middle' }),
    text(x + width, y + 24, '+' + legendNumber(max), { size: 11, fill: MUTED, anchor: 'end' }),
  );
  if (caption) out.push(text(x + width / 2, y + 40, caption, { size: 11, fill: MUTED, anchor: 'middle' }));
  return out;
}

// A light-to-dark blue ramp (after ColorBrewer "Blues").
const STOPS: [number, number, number][] = [
  [247, 251, 255],
  [198, 219, 239],
  [107, 174, 214],
  [33, 113, 181],
  [8, 48, 107],
];

/** Colour for a share 0..1 of a row. The square root keeps a handful of errors visible. */
export function heatColor(share: number): string {
  if (share <= 0) return '#ffffff';
  const t = Math.sqrt(Math.min(1, share)) * (STOPS.length - 1);
  const k = Math.min(STOPS.length - 2, Math.floor(t));
  const f = t - k;
  const c = STOPS[k].map((v, i) => Math.round(v + (STOPS[k + 1][i] - v) * f));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}
