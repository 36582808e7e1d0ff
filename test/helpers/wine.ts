// The UCI wine measurements (178 rows, 13 features, 3 classes) from scikit-learn's copy (Debian's
// python3-sklearn; .ci/run installs it), as numbers: real tabular data for vector models.
import fs from 'node:fs';

export const WINE_CSV = '/usr/lib/python3/dist-packages/sklearn/datasets/data/wine_data.csv';
export const WINE_NAMES = [
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
];

/** Rows of 13 values and their class index (the CSV's first line is a header of counts and class names). */
export function wine(): { x: number[][]; y: number[]; names: string[] } {
  const rows = fs
    .readFileSync(WINE_CSV, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(',').map(Number));
  return { x: rows.map((r) => r.slice(0, 13)), y: rows.map((r) => r[13]), names: WINE_NAMES };
}
