/**
 * The PNG panel `digitkit explain` writes for one input, drawn with the report images' SVG → PNG path
 * (src/draw/render.ts, sharp):
 * - image models: the picture as given, the model's input (28x28), one attribution map per class
 *   explained (red raises the class, blue lowers it, with a legend), each hidden layer as a strip of
 *   cells shaded by activation, and the probability bars;
 * - vector models: the same, with a bar chart of per-feature attributions (named by the model's
 *   feature names, largest first) in place of the pictures.
 */
import { importOptional } from '../node/optional.js';
import {
  heatColor,
  legendNumber,
  legendSvg,
  LOWER,
  paintAttribution,
  paintDigit,
  RAISE,
  scaleOf,
} from '../draw/heatmap.js';
import { pct } from '../format.js';
import { GRID, MUTED, rect, shortPct, svgDocument, text } from '../draw/svg.js';

// sharp (through render.ts) is loaded when a panel is drawn, not by `import 'digitkit'`.
const render = () => import('../draw/render.js');

export type Method = 'saliency' | 'ig';

/** What each method's numbers are, for captions and legends. */
export const METHOD_TEXT: Record<Method, { name: string; unit: string }> = {
  saliency: { name: 'saliency (gradient)', unit: 'd logit / d x' },
  ig: { name: 'integrated gradients', unit: 'contribution to logit(x) − logit(0)' },
};

export interface PanelClass {
  index: number;
  label: string;
  probability: number;
  /** One number per model input. */
  attribution: ArrayLike<number>;
}

interface PanelBase {
  title: string;
  subtitle: string;
  method: Method;
  labels: string[];
  probs: ArrayLike<number>;
  /** Each hidden layer's activations. */
  hidden: ArrayLike<number>[];
  classes: PanelClass[];
}

export interface ImagePanel extends PanelBase {
  /** The picture as given, fitted into PICTURE x PICTURE on white (RGB), or null (no picture to show). */
  picture: { rgb: Uint8Array; width: number; height: number; sourceWidth: number; sourceHeight: number } | null;
  /** The model's input pixels (side x side, 0..255, ink = 255). */
  pixels: ArrayLike<number>;
  side: number;
}

export interface VectorPanel extends PanelBase {
  /** Feature names (the model's, or x0, x1, ...) and the raw values given. */
  names: string[];
  values: ArrayLike<number>;
}

const M = 20;
const GAP = 24;
const ZOOM = 6;
export const PICTURE = 28 * ZOOM;
const TOP = 92;
const CELL_W = 8;
const CELL_H = 14;
const CELLS_PER_ROW = 80;
const BAR_ROW = 18;

/** Where a panel's parts are (tests find the maps' pixels with it). */
export interface ImagePanelLayout {
  width: number;
  height: number;
  /** Top-left of the picture, the model's input, and each class's map. */
  picture: { x: number; y: number };
  input: { x: number; y: number };
  maps: { x: number; y: number }[];
  zoom: number;
}

function stripsHeight(hidden: ArrayLike<number>[]): number {
  return hidden.reduce((h, a) => h + 24 + Math.ceil(a.length / CELLS_PER_ROW) * (CELL_H + 2) + 8, 0);
}

/** Each hidden layer as rows of cells, shaded by activation / the layer's max (white: 0, off). */
function strips(x: number, y: number, hidden: ArrayLike<number>[]): string[] {
  const out: string[] = [];
  hidden.forEach((a, k) => {
    const max = scaleOf(a);
    const active = Array.prototype.filter.call(a, (v: number) => v > 0).length;
    out.push(
      text(x, y + 14, `hidden layer ${k + 1}: ${a.length} units, ${active} active, max ${legendNumber(max)}`, {
        size: 12,
        fill: MUTED,
      }),
    );
    y += 22;
    for (let i = 0; i < a.length; i++) {
      const cx = x + (i % CELLS_PER_ROW) * CELL_W,
        cy = y + Math.floor(i / CELLS_PER_ROW) * (CELL_H + 2);
      out.push(rect(cx, cy, CELL_W - 1, CELL_H, a[i] > 0 ? heatColor(a[i] / max) : '#ffffff', GRID));
    }
    y += Math.ceil(a.length / CELLS_PER_ROW) * (CELL_H + 2) + 10;
  });
  return out;
}

/** One bar per class, the explained classes in bold. */
function probabilityBars(
  x: number,
  y: number,
  labels: string[],
  probs: ArrayLike<number>,
  bold: Set<number>,
): string[] {
  const out = [text(x, y + 12, 'probabilities', { size: 12, fill: MUTED })];
  const lw = Math.min(160, 8 + 7 * Math.max(...labels.map((l) => l.length)));
  labels.forEach((l, j) => {
    const cy = y + 20 + j * BAR_ROW;
    out.push(
      text(x + lw - 6, cy + 12, l, { size: 12, anchor: 'end', bold: bold.has(j) }),
      rect(x + lw, cy + 3, 300, 11, '#eeeeee'),
      rect(x + lw, cy + 3, Math.max(0, 300 * probs[j]), 11, bold.has(j) ? '#2a62b8' : '#8aa4c8'),
      text(x + lw + 308, cy + 12, pct(probs[j], 1), { size: 12, fill: MUTED }),
    );
  });
  return out;
}

const lowerParts = (hidden: ArrayLike<number>[], labels: string[]) =>
  stripsHeight(hidden) + 20 + labels.length * BAR_ROW + 16;

export function imagePanelLayout(p: Pick<ImagePanel, 'classes' | 'hidden' | 'labels' | 'side'>): ImagePanelLayout {
  const box = p.side * ZOOM;
  const n = 2 + p.classes.length;
  const width = Math.max(M * 2 + n * box + (n - 1) * GAP, M * 2 + CELLS_PER_ROW * CELL_W);
  const at = (k: number) => ({ x: M + k * (box + GAP), y: TOP });
  return {
    width,
    height: TOP + box + 64 + lowerParts(p.hidden, p.labels),
    picture: at(0),
    input: at(1),
    maps: p.classes.map((_, k) => at(2 + k)),
    zoom: ZOOM,
  };
}

const header = (p: PanelBase) => [
  text(M, 30, p.title, { size: 17, bold: true }),
  text(M, 52, p.subtitle, { size: 12, fill: MUTED }),
];
const classCaption = (c: PanelClass) =>
  `${/^\d+$/.test(c.label) ? 'class ' : ''}${c.label} · ${shortPct(c.probability)}`;
/** A feature's value as given: 4 significant digits. */
const valueText = (v: number) =>
  v === 0 || (Math.abs(v) >= 1e-3 && Math.abs(v) < 1e6) ? String(Number(v.toPrecision(4))) : v.toExponential(3);

/** The panel for an image model, as PNG bytes. */
export async function renderImagePanel(p: ImagePanel): Promise<Buffer> {
  const L = imagePanelLayout(p);
  const box = p.side * ZOOM;
  const scales = p.classes.map((c) => scaleOf(c.attribution));
  const body = header(p);
  const caption = (x: number, s: string) => body.push(text(x, TOP - 8, s, { size: 12, fill: MUTED }));
  caption(
    L.picture.x,
    p.picture ? `as given (${p.picture.sourceWidth}×${p.picture.sourceHeight})` : 'as given (not shown)',
  );
  caption(L.input.x, `what the model sees (${p.side}×${p.side})`);
  body.push(rect(L.picture.x - 1, L.picture.y - 1, box + 2, box + 2, 'none', GRID));
  body.push(rect(L.input.x - 1, L.input.y - 1, box + 2, box + 2, 'none', GRID));
  p.classes.forEach((c, k) => {
    const { x, y } = L.maps[k];
    caption(x, classCaption(c));
    body.push(rect(x - 1, y - 1, box + 2, box + 2, 'none', GRID));
    body.push(...legendSvg(x, y + box + 10, box, scales[k], METHOD_TEXT[p.method].unit));
  });
  const lower = TOP + box + 64;
  body.push(...strips(M, lower, p.hidden));
  body.push(
    ...probabilityBars(M, lower + stripsHeight(p.hidden), p.labels, p.probs, new Set(p.classes.map((c) => c.index))),
  );
  const { canvasToPng, svgToCanvas } = await render();
  const canvas = await svgToCanvas(svgDocument(L.width, L.height, body));
  if (p.picture) {
    const { rgb, width, height } = p.picture;
    const ox = L.picture.x + Math.floor((box - width) / 2),
      oy = L.picture.y + Math.floor((box - height) / 2);
    for (let r = 0; r < height; r++)
      canvas.data.set(rgb.subarray(r * width * 3, (r + 1) * width * 3), ((oy + r) * canvas.width + ox) * 3);
  }
  paintDigit(canvas, L.input.x, L.input.y, ZOOM, p.pixels, p.side);
  p.classes.forEach((c, k) =>
    paintAttribution(canvas, L.maps[k].x, L.maps[k].y, ZOOM, p.pixels, c.attribution, scales[k], p.side),
  );
  return canvasToPng(canvas);
}

/** The picture as given, fitted into PICTURE x PICTURE (aspect kept) over white, for the panel. */
export async function fitPicture(bytes: Uint8Array): Promise<ImagePanel['picture']> {
  const { default: sharp } = await importOptional<typeof import('sharp')>('sharp');
  const img = sharp(bytes, { limitInputPixels: 50_000_000, autoOrient: true });
  const meta = await img.metadata();
  const { data, info } = await img
    .flatten({ background: { r: 255, g: 255, b: 255 } })
    .resize(PICTURE, PICTURE, { fit: 'inside', kernel: 'lanczos3' })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const swap = (meta.orientation ?? 1) >= 5; // rotated by 90°: autoOrient swaps the sides
  return {
    rgb: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
    sourceWidth: swap ? meta.height! : meta.width!,
    sourceHeight: swap ? meta.width! : meta.height!,
  };
}

const FEATURE_ROW = 18;
const HALF_BAR = 140;

/** The panel for a vector model: per-feature attribution bars (largest |attribution| of the first class first). */
export async function renderVectorPanel(p: VectorPanel): Promise<Buffer> {
  const order = Array.from(p.names.keys()).sort(
    (a, b) => Math.abs(p.classes[0].attribution[b]) - Math.abs(p.classes[0].attribution[a]) || a - b,
  );
  const nameW = Math.min(
    260,
    16 + 7 * Math.max(...order.map((i) => `${p.names[i]} = ${valueText(p.values[i])}`.length)),
  );
  const colW = 2 * HALF_BAR + 90;
  const width = Math.max(M * 2 + nameW + p.classes.length * colW, M * 2 + CELLS_PER_ROW * CELL_W);
  const top = TOP;
  const chartH = 20 + order.length * FEATURE_ROW + 40;
  const height = top + chartH + 24 + lowerParts(p.hidden, p.labels);
  const body = header(p);
  order.forEach((i, r) =>
    body.push(
      text(M + nameW - 10, top + 20 + r * FEATURE_ROW + 12, `${p.names[i]} = ${valueText(p.values[i])}`, {
        size: 12,
        anchor: 'end',
      }),
    ),
  );
  p.classes.forEach((c, k) => {
    const x0 = M + nameW + k * colW,
      axis = x0 + HALF_BAR,
      max = scaleOf(c.attribution);
    body.push(text(axis, top - 8, classCaption(c), { size: 12, fill: MUTED, anchor: 'middle' }));
    body.push(rect(axis, top + 14, 1, order.length * FEATURE_ROW + 6, '#999999'));
    order.forEach((i, r) => {
      const v = c.attribution[i],
        w = (Math.abs(v) / max) * HALF_BAR,
        y = top + 20 + r * FEATURE_ROW;
      const [cr, cg, cb] = v >= 0 ? RAISE : LOWER;
      body.push(rect(v >= 0 ? axis : axis - w, y + 3, w, 12, `rgb(${cr},${cg},${cb})`));
      body.push(
        text(v >= 0 ? axis + w + 4 : axis - w - 4, y + 13, legendNumber(v), {
          size: 10,
          fill: MUTED,
          anchor: v >= 0 ? 'start' : 'end',
        }),
      );
    });
    body.push(
      text(
        axis,
        top + 20 + order.length * FEATURE_ROW + 20,
        `${METHOD_TEXT[p.method].unit} (red raises, blue lowers)`,
        {
          size: 11,
          fill: MUTED,
          anchor: 'middle',
        },
      ),
    );
  });
  const lower = top + chartH + 24;
  body.push(...strips(M, lower, p.hidden));
  body.push(
    ...probabilityBars(M, lower + stripsHeight(p.hidden), p.labels, p.probs, new Set(p.classes.map((c) => c.index))),
  );
  const { canvasToPng, svgToCanvas } = await render();
  return canvasToPng(await svgToCanvas(svgDocument(width, height, body)));
}
