/**
 * Training curves from a model's `meta.history` (columnar, one entry per epoch:
 * `{loss, trainAccuracy, valAccuracy, lr}`, accuracies as fractions, any array may be absent):
 * loss per epoch on the left, train/validation accuracy per epoch on the right.
 */
import { GRID, INK, line, MUTED, svgDocument, text } from '../draw/svg.js';

export interface History {
  loss?: number[];
  trainAccuracy?: number[];
  valAccuracy?: number[];
  lr?: number[];
}

const KEYS = ['loss', 'trainAccuracy', 'valAccuracy', 'lr'] as const;

/**
 * The history in a model's meta, or null when there is none worth plotting. `meta` is free-form,
 * so anything that is not a number becomes NaN (a gap), and non-arrays are ignored.
 */
export function readHistory(meta: unknown): History | null {
  if (meta === null || typeof meta !== 'object') return null;
  const h = (meta as Record<string, unknown>).history;
  if (h === null || typeof h !== 'object' || Array.isArray(h)) return null;
  const out: History = {};
  for (const k of KEYS) {
    const v = (h as Record<string, unknown>)[k];
    if (Array.isArray(v)) out[k] = v.map((x) => (typeof x === 'number' && Number.isFinite(x) ? x : NaN));
  }
  const plottable = [out.loss, out.trainAccuracy, out.valAccuracy].some((a) => a?.some(Number.isFinite));
  return plottable ? out : null;
}

export const CURVES_SIZE = { width: 960, height: 400 };

/** Round tick positions covering [lo, hi]: steps of 1, 2 or 5 times a power of ten. */
export function niceTicks(
  lo: number,
  hi: number,
  target = 5,
): { lo: number; hi: number; step: number; ticks: number[] } {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) * 0.05 || 0.05;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const first = Math.floor(lo / step + 1e-9) * step;
  const last = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = first; v <= last + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return { lo: first, hi: last, step, ticks };
}

function decimalsFor(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

interface Series {
  name: string;
  values: number[];
  color: string;
  dash?: string;
}

interface Panel {
  x: number;
  y: number;
  w: number;
  h: number;
  title: string;
  series: Series[];
  /** Show values as percentages (fractions in the data). */
  percent: boolean;
}

function panelSvg(p: Panel): string[] {
  const out: string[] = [text(p.x, p.y - 16, p.title, { size: 15, bold: true })];
  const all = p.series.flatMap((s) => s.values.filter(Number.isFinite));
  if (all.length === 0) {
    out.push(line(p.x, p.y + p.h, p.x + p.w, p.y + p.h, INK));
    out.push(text(p.x + p.w / 2, p.y + p.h / 2, 'not recorded', { size: 14, anchor: 'middle', fill: MUTED }));
    return out;
  }
  const epochs = Math.max(...p.series.map((s) => s.values.length));
  const scale = p.percent ? 100 : 1;
  // A little room around the data so the first and last points do not sit on the axes.
  const yMin = Math.min(...all) * scale;
  const yMax = Math.max(...all) * scale;
  // ... but never below 0 for a loss or above 100% for an accuracy.
  const pad = (yMax - yMin) * 0.03 || Math.abs(yMax) * 0.02 || 0.02;
  const yt = niceTicks(
    yMin >= 0 ? Math.max(0, yMin - pad) : yMin - pad,
    p.percent && yMax <= 100 ? Math.min(100, yMax + pad) : yMax + pad,
  );
  const xPad = Math.max(0.3, (epochs - 1) * 0.03);
  const xLo = 1 - xPad;
  const xHi = epochs + xPad;
  const X = (epoch: number) => p.x + ((epoch - xLo) / (xHi - xLo)) * p.w;
  const Y = (v: number) => p.y + p.h - ((v * scale - yt.lo) / (yt.hi - yt.lo)) * p.h;
  const yDecimals = decimalsFor(yt.step);
  for (const t of yt.ticks) {
    const y = p.y + p.h - ((t - yt.lo) / (yt.hi - yt.lo)) * p.h;
    out.push(line(p.x, y, p.x + p.w, y, GRID));
    out.push(
      text(p.x - 8, y + 4, t.toFixed(yDecimals) + (p.percent ? '%' : ''), { size: 11, anchor: 'end', fill: MUTED }),
    );
  }
  // Epoch ticks: 1, then multiples of a round step.
  const xStep = Math.max(1, Math.round(niceTicks(1, Math.max(2, epochs), 8).step));
  const xTicks = [1];
  for (let e = xStep; e <= epochs; e += xStep) if (e > 1) xTicks.push(e);
  for (const e of xTicks) {
    out.push(line(X(e), p.y + p.h, X(e), p.y + p.h + 4, INK));
    out.push(text(X(e), p.y + p.h + 18, String(e), { size: 11, anchor: 'middle', fill: MUTED }));
  }
  out.push(line(p.x, p.y, p.x, p.y + p.h, INK), line(p.x, p.y + p.h, p.x + p.w, p.y + p.h, INK));
  out.push(text(p.x + p.w / 2, p.y + p.h + 38, 'epoch', { size: 12, anchor: 'middle', fill: MUTED }));

  // Legend in whichever right-hand corner the curves end away from (falling loss: top, rising accuracy: bottom).
  const lastYs = p.series.flatMap((s) => s.values.filter(Number.isFinite).slice(-1)).map(Y);
  const endsHigh = lastYs.reduce((t, y) => t + y, 0) / lastYs.length < p.y + p.h / 2;
  const legendY = endsHigh ? p.y + p.h - 12 - (p.series.length - 1) * 18 : p.y + 16;
  p.series.forEach((s, k) => {
    const pts = s.values.map((v, i) => [i + 1, v] as const).filter(([, v]) => Number.isFinite(v));
    if (pts.length === 0) return;
    const xy = pts.map(([e, v]) => [X(e).toFixed(1), Y(v).toFixed(1)]);
    // One polyline per run of consecutive recorded epochs, so a missing value shows as a gap.
    let run: string[] = [];
    const flush = () => {
      if (run.length > 1)
        out.push(
          `<polyline points="${run.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2.5"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
        );
      run = [];
    };
    pts.forEach(([e], i) => {
      if (i > 0 && e !== pts[i - 1][0] + 1) flush();
      run.push(xy[i].join(','));
    });
    flush();
    if (pts.length <= 40)
      for (const [cx, cy] of xy) out.push(`<circle cx="${cx}" cy="${cy}" r="3.5" fill="${s.color}"/>`);
    // Legend, top right inside the panel.
    const ly = legendY + k * 18;
    out.push(line(p.x + p.w - 185, ly - 4, p.x + p.w - 161, ly - 4, s.color, 2.5, s.dash));
    const lastValue = pts[pts.length - 1][1] * scale;
    const shown = p.percent ? lastValue.toFixed(2) + '%' : lastValue.toPrecision(3);
    out.push(text(p.x + p.w - 155, ly, `${s.name} (last ${shown})`, { size: 11 }));
  });
  return out;
}

export function curvesSvg(h: History, title: string, from?: string): string {
  const { width, height } = CURVES_SIZE;
  const epochs = Math.max(0, ...KEYS.map((k) => h[k]?.length ?? 0));
  const panels: Panel[] = [
    {
      x: 80,
      y: 90,
      w: 370,
      h: 240,
      title: 'Training loss',
      percent: false,
      series: h.loss ? [{ name: 'loss', values: h.loss, color: '#d95f02' }] : [],
    },
    {
      x: 560,
      y: 90,
      w: 370,
      h: 240,
      title: 'Accuracy',
      percent: true,
      series: [
        ...(h.trainAccuracy ? [{ name: 'train', values: h.trainAccuracy, color: '#7f7f7f', dash: '6 4' }] : []),
        ...(h.valAccuracy ? [{ name: 'validation', values: h.valAccuracy, color: '#1f77b4' }] : []),
      ],
    },
  ];
  return svgDocument(width, height, [
    text(16, 28, title, { size: 18, bold: true }),
    text(
      16,
      50,
      `${epochs} epoch${epochs === 1 ? '' : 's'} recorded in ${from ? `the meta.history of ${from}, the float model this one was quantized from` : "the model's meta.history"}`,
      { size: 13, fill: MUTED },
    ),
    ...panels.flatMap(panelSvg),
  ]);
}
