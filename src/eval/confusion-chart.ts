/**
 * The confusion matrix as a heat map (SVG): one cell per (true, predicted) pair with its count,
 * shaded by the cell's share of its row, so the diagonal is the recall of each class and a
 * good model shows a dark diagonal on a pale field. Recall per row on the right, precision per
 * column along the bottom.
 */
import type { ClassStats } from './metrics.js';
import { pct } from '../format.js';
import { heatColor } from '../draw/heatmap.js';
import { GRID, MUTED, rect, svgDocument, text } from '../draw/svg.js';

/** Where the cells are, so tests (and anyone) can find cell (i, j). */
export interface ConfusionLayout {
  width: number;
  height: number;
  /** Top-left of cell (0, 0). */
  x0: number;
  y0: number;
  cell: number;
}

export function confusionLayout(classes: number): ConfusionLayout {
  const cell = 52;
  const x0 = 80;
  const y0 = 96;
  return { width: x0 + classes * cell + 92, height: y0 + classes * cell + 58, x0, y0, cell };
}

export function confusionSvg(confusion: number[][], stats: ClassStats[], title: string, subtitle: string): string {
  const n = confusion.length;
  const L = confusionLayout(n);
  const { x0, y0, cell } = L;
  const right = x0 + n * cell;
  const bottom = y0 + n * cell;
  const body: string[] = [
    text(16, 28, title, { size: 18, bold: true }),
    text(16, 50, subtitle, { size: 13, fill: MUTED }),
    text(x0 + (n * cell) / 2, 72, 'predicted', { size: 13, anchor: 'middle', fill: MUTED }),
    text(24, y0 + (n * cell) / 2, 'true', { size: 13, anchor: 'middle', fill: MUTED, rotate: -90 }),
    text(right + 46, y0 - 10, 'recall', { size: 12, anchor: 'middle', fill: MUTED }),
    text(x0 - 10, bottom + 28, 'precision', { size: 12, anchor: 'end', fill: MUTED }),
  ];
  for (let i = 0; i < n; i++) {
    const rowTotal = confusion[i].reduce((s, v) => s + v, 0);
    body.push(text(x0 - 14, y0 + i * cell + cell / 2 + 5, stats[i].label, { size: 15, anchor: 'end', bold: true }));
    body.push(text(x0 + i * cell + cell / 2, y0 - 10, stats[i].label, { size: 15, anchor: 'middle', bold: true }));
    for (let j = 0; j < n; j++) {
      const count = confusion[i][j];
      const share = rowTotal === 0 ? 0 : count / rowTotal;
      const x = x0 + j * cell;
      const y = y0 + i * cell;
      body.push(rect(x, y, cell, cell, heatColor(share), GRID));
      if (count > 0) {
        const size = String(count).length > 4 ? 12 : 14;
        body.push(
          text(x + cell / 2, y + cell / 2 + 5, String(count), {
            size,
            anchor: 'middle',
            fill: Math.sqrt(share) > 0.6 ? '#ffffff' : '#222222',
            bold: i === j,
          }),
        );
      }
    }
    const recall = stats[i].recall;
    body.push(
      text(right + 46, y0 + i * cell + cell / 2 + 5, recall === null ? '–' : pct(recall, 1), {
        size: 12,
        anchor: 'middle',
      }),
    );
    const precision = stats[i].precision;
    body.push(
      text(x0 + i * cell + cell / 2, bottom + 28, precision === null ? '–' : pct(precision, 1), {
        size: 12,
        anchor: 'middle',
      }),
    );
  }
  return svgDocument(L.width, L.height, body);
}
