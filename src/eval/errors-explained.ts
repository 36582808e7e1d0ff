/**
 * errors-explained.png: the most confident mistakes, each digit beside its saliency map for the true
 * class and for the predicted one (d logit / d x, digitkit/explain), both maps on one scale so their
 * strengths compare: red where ink raises the class, blue where it lowers it.
 */
import { saliency } from '../explain/index.js';
import { pixelsToInput, type Model } from '../core/index.js';
import { legendNumber, paintAttribution, paintDigit, scaleOf } from '../draw/heatmap.js';
import { canvasToPng, svgToCanvas } from '../draw/render.js';
import { BAD, GRID, MUTED, rect, shortPct, svgDocument, text } from '../draw/svg.js';

/** How many mistakes the image explains. */
export const EXPLAINED_ERRORS = 20;

export interface ExplainedError {
  index: number;
  label: number;
  predicted: number;
  probability: number;
  /** side x side, 0..255, ink = 255. */
  pixels: Uint8Array;
}

const ZOOM = 3;
const COLS = 4;
const HEADER = 84;

export function errorsExplainedLayout(count: number, side = 28) {
  const map = side * ZOOM,
    tileW = 3 * map + 2 * 8 + 16,
    tileH = 8 + map + 4 + 2 * 16 + 8;
  return {
    map,
    tileW,
    tileH,
    width: 20 + COLS * (tileW + 10),
    height: HEADER + Math.max(Math.ceil(count / COLS) * (tileH + 10), 40) + 10,
    /** Top-left of image `j` (0: the digit, 1: true-class map, 2: predicted-class map) of tile `k`. */
    at: (k: number, j: number) => ({
      x: 10 + (k % COLS) * (tileW + 10) + 8 + j * (map + 8),
      y: HEADER + Math.floor(k / COLS) * (tileH + 10) + 8,
    }),
  };
}

export async function renderErrorsExplained(
  model: Model,
  title: string,
  subtitle: string,
  errors: ExplainedError[],
  side = 28,
): Promise<Buffer> {
  const L = errorsExplainedLayout(errors.length, side);
  const labels = model.labels;
  const maps = errors.map((e) => {
    const x = pixelsToInput(model, e.pixels);
    const t = saliency(model, x, e.label),
      p = saliency(model, x, e.predicted);
    return { t, p, max: Math.max(scaleOf(t), scaleOf(p)) };
  });
  const body: string[] = [
    text(16, 30, title, { size: 18, bold: true }),
    text(16, 52, subtitle, { size: 13, fill: MUTED }),
  ];
  if (errors.length === 0)
    body.push(text(L.width / 2, HEADER + 26, 'no misclassified digits', { size: 15, anchor: 'middle', fill: MUTED }));
  errors.forEach((e, k) => {
    const d = L.at(k, 0);
    body.push(rect(d.x - 8, d.y - 8, L.tileW, L.tileH, '#ffffff', GRID));
    const y = d.y + L.map + 4;
    body.push(
      text(d.x + L.map / 2, y + 14, [{ text: `#${e.index}` }], { size: 12, anchor: 'middle', fill: MUTED }),
      text(d.x + L.map / 2, y + 30, `${labels[e.label]} → ${labels[e.predicted]} ${shortPct(e.probability)}`, {
        size: 12,
        anchor: 'middle',
      }),
      text(L.at(k, 1).x + L.map / 2, y + 14, `for ${labels[e.label]} (true)`, { size: 12, anchor: 'middle' }),
      text(L.at(k, 2).x + L.map / 2, y + 14, `for ${labels[e.predicted]} (predicted)`, {
        size: 12,
        anchor: 'middle',
        fill: BAD,
      }),
      text(L.at(k, 1).x + L.map + 4, y + 30, `scale ±${legendNumber(maps[k].max)}`, {
        size: 11,
        anchor: 'middle',
        fill: MUTED,
      }),
    );
  });
  const canvas = await svgToCanvas(svgDocument(L.width, L.height, body));
  errors.forEach((e, k) => {
    const [a, b, c] = [0, 1, 2].map((j) => L.at(k, j));
    paintDigit(canvas, a.x, a.y, ZOOM, e.pixels, side);
    paintAttribution(canvas, b.x, b.y, ZOOM, e.pixels, maps[k].t, maps[k].max, side);
    paintAttribution(canvas, c.x, c.y, ZOOM, e.pixels, maps[k].p, maps[k].max, side);
  });
  return canvasToPng(canvas);
}
