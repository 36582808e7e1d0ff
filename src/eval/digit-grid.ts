/**
 * A grid of 28x28 test digits with captions (misclassified digits, or digits two models
 * disagree on). Titles and captions come from SVG; the digits themselves are painted pixel by
 * pixel into the rendered canvas (dark ink on white, each pixel a ZOOMxZOOM block), which
 * keeps them exact and avoids embedding hundreds of data-URI images in the SVG.
 */
import { canvasToPng, svgToCanvas } from '../draw/render.js';
import { GRID, MUTED, rect, svgDocument, text, type Segment } from '../draw/svg.js';

export interface Tile {
  /** 28x28 (side x side) bytes, 0..255, ink = 255. */
  pixels: Uint8Array;
  /** One or two caption lines under the digit. */
  caption: Segment[][];
}

const ZOOM = 3;
const COLS = 10;
const PITCH_X = 100;
const PAD = 8;
const LINE = 17;
const HEADER = 84;

export interface GridLayout {
  width: number;
  height: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
  /** Top-left of the digit (not the tile) at position k. */
  digitAt(k: number): { x: number; y: number };
  digitSize: number;
}

export function gridLayout(tiles: number, captionLines: number, side = 28): GridLayout {
  const digitSize = side * ZOOM;
  const tileHeight = PAD + digitSize + 4 + captionLines * LINE + PAD;
  const rows = Math.ceil(tiles / COLS);
  return {
    width: 20 + COLS * PITCH_X,
    height: HEADER + Math.max(rows * (tileHeight + 10), 40) + 10,
    rows,
    tileWidth: PITCH_X - 8,
    tileHeight,
    digitSize,
    digitAt: (k) => ({
      x: 10 + (k % COLS) * PITCH_X + (PITCH_X - digitSize) / 2,
      y: HEADER + Math.floor(k / COLS) * (tileHeight + 10) + PAD,
    }),
  };
}

/** Render the grid to PNG bytes: a title, up to two subtitle lines, the tiles (`empty` when there are none). */
export async function renderDigitGrid(
  title: string,
  subtitle: string[],
  tiles: Tile[],
  empty: string,
  side = 28,
): Promise<Buffer> {
  const lines = Math.max(1, ...tiles.map((t) => t.caption.length));
  const L = gridLayout(tiles.length, lines, side);
  const body: string[] = [
    text(16, 30, title, { size: 18, bold: true }),
    ...subtitle.slice(0, 2).map((s, i) => text(16, 52 + i * 18, s, { size: 13, fill: MUTED })),
  ];
  if (tiles.length === 0) body.push(text(L.width / 2, HEADER + 26, empty, { size: 15, anchor: 'middle', fill: MUTED }));
  tiles.forEach((t, k) => {
    const d = L.digitAt(k);
    body.push(rect(d.x - PAD + 4, d.y - PAD, L.tileWidth, L.tileHeight, '#ffffff', GRID));
    t.caption.forEach((segs, li) => {
      body.push(
        text(d.x + L.digitSize / 2, d.y + L.digitSize + 4 + (li + 1) * LINE - 3, segs, { size: 13, anchor: 'middle' }),
      );
    });
  });
  const canvas = await svgToCanvas(svgDocument(L.width, L.height, body));
  tiles.forEach((t, k) => {
    const { x, y } = L.digitAt(k);
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        const v = 255 - t.pixels[r * side + c];
        for (let dy = 0; dy < ZOOM; dy++) {
          const o = ((y + r * ZOOM + dy) * canvas.width + x + c * ZOOM) * 3;
          canvas.data.fill(v, o, o + ZOOM * 3);
        }
      }
    }
  });
  return canvasToPng(canvas);
}
