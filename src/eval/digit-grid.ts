/**
 * A grid of test pictures with captions (misclassified samples, or samples two models disagree on):
 * 28x28 digits, or a model's pictures of any size, gray or RGB. Titles and captions come from SVG; the
 * pictures themselves are painted pixel by pixel into the rendered canvas (digits as dark ink on white,
 * each pixel a ZOOMxZOOM block; other pictures as they are, scaled to fit), which keeps them exact and
 * avoids embedding hundreds of data-URI images in the SVG.
 */
import { canvasToPng, svgToCanvas } from '../draw/render.js';
import { GRID, MUTED, rect, svgDocument, text, type Segment } from '../draw/svg.js';

export interface Tile {
  /** The model's input pixels (width x height x channels bytes, 0..255; for a digit, ink = 255). */
  pixels: Uint8Array;
  /** One or two caption lines under the digit. */
  caption: Segment[][];
}

const ZOOM = 3;
/** The largest side of a tile's picture, in pixels (MNIST's 28 x ZOOM). */
const BOX = 84;

/** The pictures of a grid: their size, channels, and whether they are ink (255) on 0, drawn dark on white. */
export interface TileShape {
  width: number;
  height: number;
  channels: number;
  invert: boolean;
}
const MNIST_TILE: TileShape = { width: 28, height: 28, channels: 1, invert: true };

/** Display pixels per picture pixel: MNIST's 3, or what fits a picture into BOX. */
const zoomOf = (s: TileShape) => Math.min(ZOOM, BOX / Math.max(s.width, s.height));
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
  /** The picture's width and height on the grid. */
  digitSize: number;
  digitHeight: number;
}

export function gridLayout(tiles: number, captionLines: number, shape: TileShape = MNIST_TILE): GridLayout {
  const digitSize = Math.round(shape.width * zoomOf(shape));
  const digitHeight = Math.round(shape.height * zoomOf(shape));
  const tileHeight = PAD + digitHeight + 4 + captionLines * LINE + PAD;
  const rows = Math.ceil(tiles / COLS);
  return {
    width: 20 + COLS * PITCH_X,
    height: HEADER + Math.max(rows * (tileHeight + 10), 40) + 10,
    rows,
    tileWidth: PITCH_X - 8,
    tileHeight,
    digitSize,
    digitHeight,
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
  shape: TileShape = MNIST_TILE,
): Promise<Buffer> {
  const lines = Math.max(1, ...tiles.map((t) => t.caption.length));
  const L = gridLayout(tiles.length, lines, shape);
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
        text(d.x + L.digitSize / 2, d.y + L.digitHeight + 4 + (li + 1) * LINE - 3, segs, {
          size: 13,
          anchor: 'middle',
        }),
      );
    });
  });
  const canvas = await svgToCanvas(svgDocument(L.width, L.height, body));
  // Each display pixel shows the picture pixel under it (nearest): exact blocks at MNIST's zoom of 3.
  const f = zoomOf(shape);
  const { width: w, height: h, channels: c, invert } = shape;
  tiles.forEach((t, k) => {
    const { x, y } = L.digitAt(k);
    for (let Y = 0; Y < L.digitHeight; Y++) {
      const r = Math.min(h - 1, Math.floor(Y / f));
      for (let X = 0; X < L.digitSize; X++) {
        const p = (r * w + Math.min(w - 1, Math.floor(X / f))) * c;
        const o = ((y + Y) * canvas.width + x + X) * 3;
        for (let ch = 0; ch < 3; ch++) {
          const v = t.pixels[p + (c === 3 ? ch : 0)];
          canvas.data[o + ch] = invert ? 255 - v : v;
        }
      }
    }
  });
  return canvasToPng(canvas);
}
