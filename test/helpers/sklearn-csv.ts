// Real tabular data: the CSVs scikit-learn ships (Debian's python3-sklearn; .ci/run installs it). Their
// own format has a first line of counts and class names, then rows of features and a class index; these
// helpers read them, and write them as the plain CSV digitkit reads (a header row, a `label` column).
import fs from 'node:fs';
import path from 'node:path';

export const SKLEARN_DATA = '/usr/lib/python3/dist-packages/sklearn/datasets/data';

const BREAST = [
  'radius',
  'texture',
  'perimeter',
  'area',
  'smoothness',
  'compactness',
  'concavity',
  'concave_points',
  'symmetry',
  'fractal_dimension',
];

/** Feature names (scikit-learn's, in snake case) of the datasets used here. */
export const FEATURE_NAMES: Record<string, string[]> = {
  wine: [
    'alcohol',
    'malic_acid',
    'ash',
    'alcalinity',
    'magnesium',
    'phenols',
    'flavanoids',
    'nonflav',
    'proanth',
    'color',
    'hue',
    'od280',
    'proline',
  ],
  breast_cancer: [
    ...BREAST.map((n) => `mean_${n}`),
    ...BREAST.map((n) => `${n}_error`),
    ...BREAST.map((n) => `worst_${n}`),
  ],
  iris: ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'],
};

const FILES: Record<string, string> = { wine: 'wine_data.csv', breast_cancer: 'breast_cancer.csv', iris: 'iris.csv' };

export interface Table {
  /** Feature rows. */
  x: number[][];
  /** Class index of each row. */
  y: number[];
  /** Class names, by index. */
  classes: string[];
  names: string[];
}

/** One of scikit-learn's CSVs ('wine', 'breast_cancer', 'iris') as numbers. */
export function sklearnTable(name: 'wine' | 'breast_cancer' | 'iris'): Table {
  const [head, ...lines] = fs.readFileSync(path.join(SKLEARN_DATA, FILES[name]), 'utf8').trim().split('\n');
  const [, features, ...classes] = head.trim().split(',');
  const rows = lines.map((l) => l.split(',').map(Number));
  const f = Number(features);
  return { x: rows.map((r) => r.slice(0, f)), y: rows.map((r) => r[f]), classes, names: FEATURE_NAMES[name] };
}

/** The UCI wine measurements (178 rows, 13 features, 3 classes). */
export const wine = () => sklearnTable('wine');

/**
 * Write rows of a table as a plain CSV: a header of feature names and `label`, the label as the class
 * name (or its index with `numericLabels`). `rows` picks and orders the rows (default all).
 */
export function writeCsv(
  file: string,
  t: Table,
  rows: number[] = t.x.map((_, i) => i),
  opts: { numericLabels?: boolean; sep?: string } = {},
): string {
  const sep = opts.sep ?? ',';
  const lines = [[...t.names, 'label'].join(sep)];
  for (const r of rows) lines.push([...t.x[r], opts.numericLabels ? t.y[r] : t.classes[t.y[r]]].join(sep));
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}
