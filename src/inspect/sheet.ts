/**
 * A contact sheet: one row per class (its name on the left), the class's first pictures beside it,
 * painted pixel for pixel into a canvas rendered from SVG (like eval's error gallery): digits as dark
 * ink on white, other pictures as they are; gray or RGB; scaled to fit.
 */
import { canvasToPng, svgToCanvas } from '../draw/render.js';
import { GRID, MUTED, rect, svgDocument, text } from '../draw/svg.js';

export interface SheetShape {
  width: number;
  height: number;
  channels: number;
  /** Ink (255) on 0: drawn dark on white. */
  invert: boolean;
}

/** Display size of a picture's longer side. */
const BOX = 56;
const LABEL = 150;
const GAP = 6;
const HEADER = 44;

export async function renderSheet(
  title: string,
  rows: { label: string; pictures: Uint8Array[] }[],
  shape: SheetShape,
  perRow: number,
): Promise<Buffer> {
  const f = Math.min(4, BOX / Math.max(shape.width, shape.height));
  const w = Math.max(1, Math.round(shape.width * f));
  const h = Math.max(1, Math.round(shape.height * f));
  const width = LABEL + perRow * (w + GAP) + GAP;
  const height = HEADER + rows.length * (h + GAP) + GAP;
  const at = (r: number, k: number) => ({ x: LABEL + GAP + k * (w + GAP), y: HEADER + r * (h + GAP) });
  const body = [text(10, 26, title, { size: 14, bold: true })];
  rows.forEach((row, r) => {
    const { y } = at(r, 0);
    const name = row.label.length > 20 ? row.label.slice(0, 19) + '…' : row.label;
    body.push(text(10, y + h / 2 + 5, `${name} (${row.pictures.length})`, { size: 13, fill: MUTED }));
    for (let k = row.pictures.length; k < perRow; k++) {
      const p = at(r, k);
      body.push(rect(p.x, p.y, w, h, '#ffffff', GRID));
    }
  });
  const canvas = await svgToCanvas(svgDocument(width, height, body));
  const { width: sw, height: sh, channels: c, invert } = shape;
  rows.forEach((row, r) =>
    row.pictures.forEach((px, k) => {
      const { x, y } = at(r, k);
      for (let Y = 0; Y < h; Y++) {
        const sy = Math.min(sh - 1, Math.floor(Y / f));
        for (let X = 0; X < w; X++) {
          const p = (sy * sw + Math.min(sw - 1, Math.floor(X / f))) * c;
          const o = ((y + Y) * canvas.width + x + X) * 3;
          for (let ch = 0; ch < 3; ch++) {
            const v = px[p + (c === 3 ? ch : 0)];
            canvas.data[o + ch] = invert ? 255 - v : v;
          }
        }
      }
    }),
  );
  return canvasToPng(canvas);
}
