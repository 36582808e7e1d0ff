/**
 * CSV/TSV of numeric features: a header row, one label column, every other column a finite number.
 * Pure functions from text to validated rows; every problem names the file, and the line and column
 * where it is (`wine.csv:14:3: "n/a" in column "ash" is not a number`).
 */
import { invalidInput } from '../errors.js';

export interface CsvTable {
  header: string[];
  /** Data rows, each as many fields as the header. */
  rows: string[][];
  /** The (1-based) line each row starts on. */
  lines: number[];
}

/** The field separator: tab for .tsv, comma for .csv; otherwise a tab if the header has one and no comma. */
export function separatorOf(file: string, text: string): string {
  const lower = file.toLowerCase();
  if (lower.endsWith('.tsv') || lower.endsWith('.tab')) return '\t';
  if (lower.endsWith('.csv')) return ',';
  const first = text.slice(0, text.indexOf('\n') >>> 0);
  return first.includes('\t') && !first.includes(',') ? '\t' : ',';
}

/**
 * Split CSV text into a header and rows (RFC 4180: fields may be quoted, with "" for a quote, and a
 * quoted field may hold the separator or a line break). Blank lines are skipped; a byte-order mark is
 * dropped. Throws (exit 3) for an empty file, a file with no data rows, an unclosed quote, a ragged row.
 */
export function parseCsv(text: string, file: string, sep = separatorOf(file, text)): CsvTable {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records: { fields: string[]; line: number }[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let start = 1;
  let quoted = false;
  let any = false; // the current record has content (a blank line has none)
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
    } else if (ch === '"' && field.trim() === '') {
      quoted = true;
      field = '';
      any = true;
    } else if (ch === sep) {
      fields.push(field);
      field = '';
      any = true;
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      if (any || field.trim() !== '') records.push({ fields: [...fields, field], line: start });
      fields = [];
      field = '';
      any = false;
      start = ++line;
    } else {
      field += ch;
      if (ch.trim() !== '') any = true;
    }
  }
  if (quoted) throw invalidInput(`${file}:${start}: a quoted field is not closed before the end of the file`);
  if (any || field.trim() !== '') records.push({ fields: [...fields, field], line: start });
  if (records.length === 0) throw invalidInput(`${file}: empty, expected a header row and rows of values`);
  const header = records[0].fields.map((h) => h.trim());
  if (records.length === 1) throw invalidInput(`${file}: has a header but no rows of values`);
  const seen = new Map<string, number>();
  header.forEach((h, c) => {
    if (h === '') throw invalidInput(`${file}:${records[0].line}:${c + 1}: the header's column ${c + 1} has no name`);
    if (seen.has(h))
      throw invalidInput(`${file}:${records[0].line}:${c + 1}: column "${h}" appears twice in the header`);
    seen.set(h, c);
  });
  const rows: string[][] = [];
  const lines: number[] = [];
  for (const r of records.slice(1)) {
    if (r.fields.length !== header.length)
      throw invalidInput(`${file}:${r.line}: ${r.fields.length} fields, the header has ${header.length}`);
    rows.push(r.fields);
    lines.push(r.line);
  }
  return { header, rows, lines };
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A cell as a finite number, or the reason it is not one. */
export function parseNumber(cell: string): number | string {
  const s = cell.trim();
  if (s === '') return 'is empty';
  if (!NUMBER.test(s)) return `"${s.length > 24 ? s.slice(0, 24) + '…' : s}" is not a number`;
  const v = Number(s);
  return Number.isFinite(v) ? v : `"${s}" is not a finite number`;
}

export interface CsvFeatures {
  /** Feature names, in the order of `values`. */
  names: string[];
  /** rows x names.length raw values, row-major. */
  values: Float64Array;
  /** Each row's label cell (trimmed), or null without a label column. */
  labels: string[] | null;
  lines: number[];
}

/**
 * The numeric features and the label cells of a table. `labelColumn` names the label column (null: the
 * table has none, as rows to predict may); `features` picks and orders the feature columns by name
 * (default: every column but the label, in file order). Any other column is ignored.
 */
export function csvFeatures(
  t: CsvTable,
  file: string,
  labelColumn: string | null,
  features?: readonly string[],
): CsvFeatures {
  const col = (name: string) => t.header.indexOf(name);
  let labelAt = -1;
  if (labelColumn !== null) {
    labelAt = col(labelColumn);
    if (labelAt < 0)
      throw invalidInput(
        `${file}: no column named "${labelColumn}" (columns: ${list(t.header)}); name the label column with --label-column`,
      );
  }
  const names = features ? [...features] : t.header.filter((_, c) => c !== labelAt);
  if (names.length === 0) throw invalidInput(`${file}: no feature columns besides the label column "${labelColumn}"`);
  const at = names.map(col);
  const missing = names.filter((_, k) => at[k] < 0);
  if (missing.length)
    throw invalidInput(
      `${file}: no column${missing.length > 1 ? 's' : ''} ${list(missing.map((m) => `"${m}"`))}, which the model takes (the file has ${t.header.length} columns: ${list(t.header)})`,
    );
  const values = new Float64Array(t.rows.length * names.length);
  t.rows.forEach((r, i) => {
    at.forEach((c, k) => {
      const v = parseNumber(r[c]);
      if (typeof v === 'string') throw invalidInput(`${file}:${t.lines[i]}:${c + 1}: ${v} (column "${t.header[c]}")`);
      values[i * names.length + k] = v;
    });
  });
  const labels =
    labelAt < 0
      ? null
      : t.rows.map((r, i) => {
          const s = r[labelAt].trim();
          if (s === '') throw invalidInput(`${file}:${t.lines[i]}:${labelAt + 1}: the label is empty`);
          return s;
        });
  return { names, values, labels, lines: t.lines };
}

/** "a, b, c" (at most 8 names, then how many more). */
export function list(names: readonly string[]): string {
  return names.length > 8 ? `${names.slice(0, 8).join(', ')} and ${names.length - 8} more` : names.join(', ');
}

/**
 * Class names for label cells: integers are class indices (names "0", "1", ... when every one of
 * 0..max is used, else the distinct integers in numeric order), anything else sorts as text, so the
 * index of a class never depends on the order of the rows.
 */
export function classNamesOf(labels: readonly string[]): string[] {
  const distinct = [...new Set(labels)];
  if (distinct.every((l) => /^\d+$/.test(l))) {
    const ints = [...new Set(distinct.map(Number))].sort((a, b) => a - b);
    return ints.map(String);
  }
  return distinct.sort();
}

/** Offset (mean) and scale (1 / standard deviation; 1 for a constant column) of each feature over `rows` rows. */
export function standardise(
  values: ArrayLike<number>,
  rows: number,
  size: number,
): { offset: number[]; scale: number[] } {
  const offset: number[] = [];
  const scale: number[] = [];
  for (let j = 0; j < size; j++) {
    let sum = 0;
    for (let r = 0; r < rows; r++) sum += values[r * size + j];
    const mean = sum / rows;
    let ss = 0;
    for (let r = 0; r < rows; r++) ss += (values[r * size + j] - mean) ** 2;
    const std = Math.sqrt(ss / rows);
    offset.push(mean);
    scale.push(std > 1e-12 * Math.max(1, Math.abs(mean)) && Number.isFinite(1 / std) ? 1 / std : 1);
  }
  return { offset, scale };
}
