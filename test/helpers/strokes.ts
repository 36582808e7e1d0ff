// A real MNIST digit as pen strokes, the way a person would trace it: upscale, thin to its centre
// lines, then walk the centre lines as polylines (ends first, so a "7" is drawn from its tips).
import { skeleton, upscale } from './render.js';

/** A polyline in the 28x28 frame's coordinates (0..28, floats). */
export type Stroke = [number, number][];

/** Strokes that retrace `pixels` (a 28x28 digit, ink 255 on 0); `every` keeps every n-th point. */
export function traceStrokes(pixels: Uint8Array, f = 4, every = 3): Stroke[] {
  const { a, n } = upscale(pixels, f);
  const sk = skeleton(
    Uint8Array.from(a, (v) => (v >= 0.5 ? 1 : 0)),
    n,
  );
  const neighbours = (i: number) => {
    const x = i % n,
      y = (i / n) | 0,
      out: number[] = [];
    // Straight neighbours first: the walk follows the line rather than cutting corners.
    for (const [dx, dy] of [
      [1, 0],
      [-1, 0],
      [0, 1],
      [0, -1],
      [1, 1],
      [-1, 1],
      [1, -1],
      [-1, -1],
    ]) {
      const u = x + dx,
        v = y + dy;
      if (u >= 0 && v >= 0 && u < n && v < n && sk[v * n + u]) out.push(v * n + u);
    }
    return out;
  };
  const on = [...sk.keys()].filter((i) => sk[i]);
  const starts = [...on.filter((i) => neighbours(i).length === 1), ...on];
  const walked = new Set<string>();
  const edge = (i: number, j: number) => (i < j ? `${i}-${j}` : `${j}-${i}`);
  const strokes: Stroke[] = [];
  for (const s of starts) {
    for (;;) {
      const path = [s];
      for (let cur = s; ;) {
        const next = neighbours(cur).find((j) => !walked.has(edge(cur, j)));
        if (next === undefined) break;
        walked.add(edge(cur, next));
        path.push((cur = next));
      }
      if (path.length === 1) break;
      const kept = path.filter((_, k) => k % every === 0 || k === path.length - 1);
      strokes.push(kept.map((i) => [((i % n) + 0.5) / f, (((i / n) | 0) + 0.5) / f]));
    }
  }
  return strokes;
}
