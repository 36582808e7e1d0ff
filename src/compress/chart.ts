/**
 * The size/accuracy frontier as an SVG (rendered to PNG by eval's SVG → PNG path): model file size
 * on a log axis, accuracy on the other; every candidate's validation accuracy, the chosen model's test
 * accuracy, the float model it came from, the budget, and the original demo's point (98.2% in 145 KB).
 */
import { niceTicks } from '../eval/curves-chart.js';
import { BAD, GOOD, GRID, INK, line, MUTED, svgDocument, text } from '../draw/svg.js';

export interface ChartPoint {
  label: string;
  bytes: number;
  /** Fraction. */
  accuracy: number;
}

export interface FrontierChart {
  title: string;
  budget: number;
  /** Candidates at their validation accuracy. */
  candidates: ChartPoint[];
  /** The chosen model at its validation and test accuracy, and how its layers are stored. */
  chosen: ChartPoint & { testAccuracy: number; layers: string[] };
  /** The float model the candidates come from, at its validation accuracy. */
  teacher?: ChartPoint;
}

/** The original from-scratch demo this project grew from: 98.2% test accuracy in 145 KB. */
export const DEMO_POINT: ChartPoint = { label: 'original demo (test)', bytes: 145_000, accuracy: 0.982 };

export const FRONTIER_SIZE = { width: 960, height: 560 };

const kb = (b: number) => (b >= 10_000 ? `${Math.round(b / 1000)} KB` : `${(b / 1000).toFixed(1)} KB`);

export function frontierSvg(c: FrontierChart): string {
  const { width, height } = FRONTIER_SIZE;
  const px = 90;
  const py = 80;
  const pw = 600;
  const ph = 400;
  const all = [...c.candidates, c.chosen, DEMO_POINT, ...(c.teacher ? [c.teacher] : [])];
  const accs = [...all.map((p) => p.accuracy), c.chosen.testAccuracy].map((a) => a * 100);
  const yt = niceTicks(Math.min(...accs) - 0.15, Math.min(100, Math.max(...accs) + 0.15));
  const bytes = [...all.map((p) => p.bytes), c.budget];
  // Decades of bytes, with 2x and 5x marks between.
  const lo = 10 ** Math.floor(Math.log10(Math.min(...bytes) / 1.3));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...bytes) * 1.3));
  const X = (b: number) => px + ((Math.log10(b) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * pw;
  const Y = (a: number) => py + ph - ((a * 100 - yt.lo) / (yt.hi - yt.lo)) * ph;
  const out: string[] = [
    text(16, 30, c.title, { size: 18, bold: true }),
    text(16, 52, 'model file size (log scale) against accuracy; choices made on validation, test measured once', {
      size: 13,
      fill: MUTED,
    }),
  ];
  for (const t of yt.ticks) {
    const y = py + ph - ((t - yt.lo) / (yt.hi - yt.lo)) * ph;
    out.push(line(px, y, px + pw, y, GRID));
    out.push(text(px - 8, y + 4, `${t.toFixed(yt.step < 0.1 ? 2 : 1)}%`, { size: 11, anchor: 'end', fill: MUTED }));
  }
  for (let d = lo; d <= hi; d *= 10) {
    for (const m of [1, 2, 5]) {
      const b = d * m;
      if (b < lo || b > hi) continue;
      out.push(line(X(b), py, X(b), py + ph, m === 1 ? GRID : '#f0f0f0'));
      out.push(text(X(b), py + ph + 18, kb(b), { size: 11, anchor: 'middle', fill: MUTED }));
    }
  }
  out.push(line(px, py, px, py + ph, INK), line(px, py + ph, px + pw, py + ph, INK));
  out.push(
    text(px + pw / 2, py + ph + 40, 'model file size (bytes on disk, log scale)', { size: 12, anchor: 'middle' }),
  );
  out.push(text(24, py + ph / 2, 'accuracy', { size: 12, anchor: 'middle', rotate: -90 }));
  // The budget: everything right of it does not fit.
  out.push(line(X(c.budget), py, X(c.budget), py + ph, BAD, 1.5, '6 4'));
  out.push(text(X(c.budget) + 4, py + 14, `budget ${c.budget.toLocaleString('en-US')} B`, { size: 11, fill: BAD }));
  const dot = (p: ChartPoint, color: string, r = 5) =>
    `<circle cx="${X(p.bytes).toFixed(1)}" cy="${Y(p.accuracy).toFixed(1)}" r="${r}" fill="${color}"/>`;
  for (const p of c.candidates) out.push(dot(p, '#1f77b4', 4.5));
  if (c.teacher) out.push(dot(c.teacher, '#7f7f7f'));
  // The demo's point: a diamond.
  const dx = X(DEMO_POINT.bytes);
  const dy = Y(DEMO_POINT.accuracy);
  out.push(`<path d="M${dx} ${dy - 7} L${dx + 7} ${dy} L${dx} ${dy + 7} L${dx - 7} ${dy} Z" fill="#d95f02"/>`);
  out.push(text(dx - 10, dy + 4, DEMO_POINT.label + ' 98.2%, 145 KB', { size: 11, anchor: 'end', fill: '#d95f02' }));
  // The chosen model: a ring at its validation accuracy, a star-ish square at its test accuracy.
  out.push(
    `<circle cx="${X(c.chosen.bytes).toFixed(1)}" cy="${Y(c.chosen.accuracy).toFixed(1)}" r="8" fill="none" stroke="${GOOD}" stroke-width="2.5"/>`,
  );
  const ty = Y(c.chosen.testAccuracy);
  out.push(
    `<rect x="${(X(c.chosen.bytes) - 5).toFixed(1)}" y="${(ty - 5).toFixed(1)}" width="10" height="10" fill="${GOOD}"/>`,
  );
  // Legend on the right.
  const lx = px + pw + 24;
  let ly = py + 10;
  const legend = (mark: string, label: string) => {
    out.push(mark, text(lx + 18, ly + 4, label, { size: 12 }));
    ly += 22;
  };
  legend(`<circle cx="${lx + 6}" cy="${ly}" r="4.5" fill="#1f77b4"/>`, 'candidate (validation)');
  legend(
    `<circle cx="${lx + 6}" cy="${ly}" r="7" fill="none" stroke="${GOOD}" stroke-width="2.5"/>`,
    'chosen (validation)',
  );
  legend(`<rect x="${lx + 1}" y="${ly - 5}" width="10" height="10" fill="${GOOD}"/>`, 'chosen (test)');
  if (c.teacher) legend(`<circle cx="${lx + 6}" cy="${ly}" r="5" fill="#7f7f7f"/>`, 'float model (validation)');
  legend(
    `<path d="M${lx + 6} ${ly - 6} L${lx + 12} ${ly} L${lx + 6} ${ly + 6} L${lx} ${ly} Z" fill="#d95f02"/>`,
    'original demo (test)',
  );
  ly += 14;
  out.push(text(lx, ly, 'chosen:', { size: 12, bold: true }));
  ly += 18;
  for (const s of [
    c.chosen.label,
    ...c.chosen.layers.map((l, k) => `  layer ${k}: ${l}`),
    `${c.chosen.bytes.toLocaleString('en-US')} bytes`,
    `validation ${(c.chosen.accuracy * 100).toFixed(2)}%`,
    `test ${(c.chosen.testAccuracy * 100).toFixed(2)}%`,
  ]) {
    out.push(text(lx, ly, s, { size: 12 }));
    ly += 18;
  }
  return svgDocument(width, height, out);
}
