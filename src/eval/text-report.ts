/**
 * The human-readable `digitkit eval` output: accuracy, per-class precision/recall, the confusion
 * matrix as an aligned table (diagonal in green when colour is on), and the comparison.
 */
import path from 'node:path';
import type { ChalkInstance } from 'chalk';
import type { EvalReport, ModelEval } from './evaluate.js';
import { int, pct } from '../format.js';
import { shortPct } from '../draw/svg.js';

/** Disagreements listed in the terminal; the JSON and report.json have all of them. */
export const MAX_LISTED = 20;

const rate = (v: number | null) => (v === null ? '–' : pct(v));

function describe(m: ModelEval): string {
  return `${m.path}  (${m.dtype}, ${int(m.bytes)} bytes, sha256 ${m.sha256.slice(0, 12)})`;
}

function accuracyLine(m: ModelEval): string {
  return `${pct(m.accuracy)}  (${m.correct} of ${m.count}; ${m.errors.length} misclassified)`;
}

/**
 * Pad every cell to its column's width (right-aligned, or left-aligned for the columns in
 * `left`); `paint` colours a cell after padding so escape codes do not upset the alignment.
 */
function table(
  rows: string[][],
  paint?: (r: number, c: number, cell: string) => string,
  left: number[] = [],
): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r, ri) =>
    r
      .map((cell, c) => {
        const padded = left.includes(c) ? cell.padEnd(widths[c]) : cell.padStart(widths[c]);
        return paint ? paint(ri, c, padded) : padded;
      })
      .join('  ')
      .trimEnd(),
  );
}

export function formatEvalText(rep: EvalReport, color: ChalkInstance): string[] {
  const a = rep.model;
  const b = rep.compare?.model;
  const out: string[] = [];
  if (b) {
    out.push(`model A    ${describe(a)}`, `model B    ${describe(b)}`);
  } else {
    out.push(`model      ${describe(a)}`);
  }
  // MNIST-style IDX data reads as it always did; other data says what was taken.
  const idx = rep.data.format === undefined;
  const unit = idx ? 'digit' : rep.data.samples === 'rows' ? 'row' : 'image';
  out.push(
    idx
      ? `data       ${rep.data.dir}  (t10k, ${rep.data.count} digits)`
      : `data       ${rep.data.dir}  (${rep.data.format}: ${rep.data.split}, ${rep.data.count} ${unit}s)`,
  );
  if (b) {
    out.push(color.bold(`accuracy A ${accuracyLine(a)}`), color.bold(`accuracy B ${accuracyLine(b)}`));
    const ag = rep.compare!.agreement;
    out.push(
      color.bold(
        `agreement  ${pct(ag.rate)}  (same prediction on ${ag.agree} of ${ag.count}; they disagree on ${ag.count - ag.agree})`,
      ),
    );
  } else {
    out.push(color.bold(`accuracy   ${accuracyLine(a)}`));
  }
  for (const m of b ? [a, b] : [a]) {
    if (m.metaTestAccuracy !== undefined && Math.abs(m.metaTestAccuracy - m.accuracy) > 1e-9) {
      out.push(
        color.yellow(
          `note       ${path.basename(m.path)}: meta.testAccuracy says ${pct(m.metaTestAccuracy)}, measured ${pct(m.accuracy)}`,
        ),
      );
    }
  }

  out.push('');
  const head = b
    ? ['class', 'A precision', 'A recall', 'B precision', 'B recall', 'support']
    : ['class', 'precision', 'recall', 'support'];
  const rows = a.classes.map((c, i) => [
    c.label,
    rate(c.precision),
    rate(c.recall),
    ...(b ? [rate(b.classes[i].precision), rate(b.classes[i].recall)] : []),
    String(c.support),
  ]);
  out.push(...table([head, ...rows], (r, _c, cell) => (r === 0 ? color.bold(cell) : cell)));

  out.push('', `confusion matrix${b ? ' of A' : ''} (rows: true ${idx ? 'digit' : 'class'}, columns: predicted)`);
  const labels = a.classes.map((c) => c.label);
  const grid = [['true\\pred', ...labels], ...a.confusion.map((row, i) => [labels[i], ...row.map(String)])];
  out.push(
    ...table(grid, (r, c, cell) => {
      if (r === 0 || c === 0) return color.bold(cell);
      if (r === c) return color.green.bold(cell);
      return a.confusion[r - 1][c - 1] === 0 ? color.dim(cell) : color.yellow(cell);
    }),
  );

  if (rep.compare && rep.compare.disagreements.length > 0) {
    const d = rep.compare.disagreements;
    const mark = (p: { predicted: number; probability: number }, label: number) => {
      const s = `${labels[p.predicted]} (${shortPct(p.probability)})`;
      return p.predicted === label ? s : `${s} ✗`;
    };
    out.push(
      '',
      `where A and B disagree (test index, true ${idx ? 'digit' : 'class'}, each model's prediction and probability; ✗ = wrong)`,
    );
    const list = d
      .slice(0, MAX_LISTED)
      .map((x) => [`#${x.index}`, labels[x.label], mark(x.a, x.label), mark(x.b, x.label)]);
    out.push(
      ...table([[unit, 'true', 'A', 'B'], ...list], (r, _c, cell) => (r === 0 ? color.bold(cell) : cell), [0, 2, 3]),
    );
    if (d.length > MAX_LISTED)
      out.push(
        color.dim(
          `... ${d.length - MAX_LISTED} more (all of them are in --json${rep.report ? ' and report.json' : ''})`,
        ),
      );
  }

  if (rep.data.samples === 'rows' && a.errors.length > 0) {
    // A vector model's mistakes are rows of the file: list them (most confident first).
    out.push('', `misclassified rows${b ? ' of A' : ''} (most confident first)`);
    const worst = [...a.errors].sort((x, y) => y.probability - x.probability || x.index - y.index);
    const list = worst
      .slice(0, MAX_LISTED)
      .map((e) => [e.id ?? `#${e.index}`, labels[e.label], labels[e.predicted], pct(e.probability)]);
    out.push(
      ...table(
        [['row', 'true', 'predicted', 'p'], ...list],
        (r, _c, cell) => (r === 0 ? color.bold(cell) : cell),
        [0, 1, 2],
      ),
    );
    if (worst.length > MAX_LISTED)
      out.push(
        color.dim(
          `... ${worst.length - MAX_LISTED} more (all of them are in --json${rep.report ? ' and report.json' : ''})`,
        ),
      );
  }

  if (rep.report) {
    const r = rep.report;
    out.push('', `report     ${r.dir}: ${r.files.join(', ')}`);
    if (r.files.includes('errors.png') && r.errorsShown < a.errors.length)
      out.push(`           errors.png shows the ${r.errorsShown} most confident of ${a.errors.length} mistakes`);
    if (!r.files.includes('curves.png')) out.push(`           no curves.png: the model's meta has no training history`);
  }
  return out;
}
