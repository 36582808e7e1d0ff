/**
 * `predict` for a vector model: every row of the CSV files given (a directory: its .csv/.tsv files;
 * `-`: CSV on stdin) classified through the core's `classifyValues`, one result per row. The columns
 * are matched to the model's features by name (any other column, such as a label, is ignored); a
 * model without feature names takes every column but `label`, in order. A file that does not fit the
 * model is exit 3 naming it: rows are data, and a wrong file is a wrong input, not one bad row.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { classifyValues, type Model } from '../core/index.js';
import { csvFeatures, list, parseCsv, type CsvFeatures } from '../data/csv.js';
import { invalidInput, usageError } from '../errors.js';
import { sniffImageFormat } from '../node/image.js';
import { readInputFile } from '../node/input-file.js';
import { classEntry, topK } from './classify.js';
import type { Prediction } from './jobs.js';
import type { PredictOptions, PredictReport } from './predict.js';

/** CSV files larger than this are refused before being read. */
const MAX_ROWS_BYTES = 512 * 1024 * 1024;
const CSV_EXTENSIONS = ['.csv', '.tsv', '.tab', '.txt'];

export interface RowsInput {
  file: string;
  features: CsvFeatures;
}

/** The rows of one CSV text as the model's feature values (exit 3 naming the file when it does not fit). */
export function readRows(text: string, file: string, model: Model): CsvFeatures {
  const input = model.input;
  if (input.kind !== 'vector') throw new Error('readRows: not a vector model');
  const table = parseCsv(text, file);
  const names = input.names;
  const label = table.header.includes('label') ? 'label' : null;
  const features = names ? undefined : table.header.filter((h) => h !== 'label');
  if (!names && features!.length !== input.size)
    throw invalidInput(
      `${file}: ${features!.length} feature columns (${list(features!)}), the model takes ${input.size} features`,
    );
  if (names) {
    const missing = names.filter((n) => !table.header.includes(n));
    if (missing.length)
      throw invalidInput(
        `${file}: ${table.header.length - (label ? 1 : 0)} feature columns, the model takes ${input.size} (${list(names)}); missing ${list(missing)}`,
      );
  }
  return csvFeatures(table, file, label, names ?? features);
}

/** Files to read: files as given, a directory's CSV files (sorted), `-` for stdin. */
async function expand(inputs: string[]): Promise<string[]> {
  if (inputs.filter((i) => i === '-').length > 1) throw usageError('`-` (stdin) can be given only once');
  const files: string[] = [];
  for (const input of inputs) {
    const st = input === '-' ? null : await fsp.stat(input).catch(() => null);
    if (!st?.isDirectory()) {
      files.push(input);
      continue;
    }
    const names = (await fsp.readdir(input))
      .filter((n) => !n.startsWith('.') && CSV_EXTENSIONS.includes(path.extname(n).toLowerCase()))
      .sort();
    if (names.length === 0)
      throw invalidInput(`${input}: no CSV files in the directory (a vector model classifies rows)`);
    files.push(...names.map((n) => path.join(input, n)));
  }
  return files;
}

export async function predictRows(opts: PredictOptions & { model: string }, model: Model): Promise<PredictReport> {
  const results: Prediction[] = [];
  for (const file of await expand(opts.inputs)) {
    const bytes =
      file === '-'
        ? await (opts.readStdin ?? (() => Promise.reject(usageError('no standard input to read'))))()
        : await readInputFile(file, { kind: 'CSV', limit: MAX_ROWS_BYTES, missing: 'no such file' });
    if (sniffImageFormat(bytes))
      throw invalidInput(`${file}: an image; ${opts.model} is a vector model, it classifies the rows of CSV files`);
    const f = readRows(bytes.toString('utf8'), file, model);
    const size = f.names.length;
    for (let r = 0; r < f.lines.length; r++) {
      let c;
      try {
        c = classifyValues(model, f.values.subarray(r * size, (r + 1) * size));
      } catch (err) {
        if (err instanceof RangeError) throw invalidInput(`${file}:${f.lines[r]}: ${err.message}`);
        throw err;
      }
      const top = topK(model, c.probs, opts.top ?? 3);
      results.push({ file, line: f.lines[r], ...classEntry(model, c.index), probability: c.probability, top });
    }
  }
  return { model: opts.model, results, rejected: 0, threads: 1, unsure: 0 };
}
