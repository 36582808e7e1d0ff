/**
 * `--report DIR`: confusion.png, errors.png, curves.png (when the model has a training history),
 * disagreements.png (when comparing) and report.json, each written atomically.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { Model } from '../core/index.js';
import type { Dataset, Split } from '../data/dataset.js';
import { OptionError } from '../errors.js';
import { checkOutput, fsReason, writeFilesAtomic, WriteError } from '../node/atomic.js';
import { confusionSvg } from './confusion-chart.js';
import { curvesSvg } from './curves-chart.js';
import { renderDigitGrid, type Tile, type TileShape } from './digit-grid.js';
import { EXPLAINED_ERRORS, renderErrorsExplained } from './errors-explained.js';
import type { EvalReport } from './evaluate.js';
import { svgToPng, textRenders } from '../draw/render.js';
import { pct } from '../format.js';
import { BAD, GOOD, MUTED, shortPct, type Segment } from '../draw/svg.js';

/** Every file a report may hold: one that this report does not write is an earlier report's, and goes. */
const REPORT_FILES = [
  'confusion.png',
  'errors.png',
  'errors-explained.png',
  'curves.png',
  'disagreements.png',
  'report.json',
];

/** At most this many digits in errors.png / disagreements.png (10 rows of 10). */
export const MAX_TILES = 100;

export interface ReportFiles {
  dir: string;
  /** File names written into `dir`, in the order written. */
  files: string[];
  errorsShown: number;
  disagreementsShown?: number;
  /** Whether this machine's fonts drew the text in the PNGs. */
  textRendered: boolean;
}

const picture = (test: Split, index: number, size: number) =>
  test.inputs.subarray(index * size, (index + 1) * size) as Uint8Array;

function leftOut(total: number, shown: number): string[] {
  return total > shown ? [`showing ${shown}; ${total - shown} left out (all of them are listed in report.json)`] : [];
}

/**
 * Check the report directory before the evaluation (exit 2 naming it and why). It is created when the
 * report is complete (writeReport), so a failed run leaves no empty directory behind.
 */
export async function ensureReportDir(dir: string): Promise<void> {
  try {
    await checkOutput(dir, 'dir');
  } catch (err) {
    throw new OptionError('report', `${dir}: cannot write: ${err instanceof WriteError ? err.why : fsReason(err)}`);
  }
}

/**
 * `model` (the one evaluated) adds errors-explained.png: its most confident mistakes with their
 * saliency (square one-channel pictures).
 */
export async function writeReport(
  dir: string,
  rep: EvalReport,
  test: Split,
  data: Dataset,
  model?: Model,
): Promise<void> {
  const m = rep.model;
  // Pictures for image models; a vector model's samples are rows, listed in report.json instead.
  const input = data.input;
  const shape: TileShape | null =
    input.kind === 'image'
      ? { width: input.width, height: input.height, channels: input.channels, invert: input.preprocess === 'digit' }
      : null;
  const size = input.kind === 'image' ? input.width * input.height * input.channels : 0;
  const what = data.format === 'idx' ? 'digits' : 'images';
  const name = path.basename(m.path);
  const labels = m.classes.map((c) => c.label);
  // Every file is made in memory first, then the set is written and moved into `dir` as one unit:
  // a failure (a full disk) leaves no part of a report, and an earlier report as it was.
  const staged = new Map<string, Buffer | string>();
  const put = (file: string, data: Buffer | string) => {
    staged.set(file, data);
  };
  const textRendered = await textRenders();
  if (!textRendered) {
    rep.warnings.push(
      `no font on this machine drew text, so the PNGs in ${dir} have no labels or numbers (install a TrueType font, e.g. \`apt-get install fonts-dejavu-core\`); report.json has every number`,
    );
  }

  put(
    'confusion.png',
    await svgToPng(
      confusionSvg(
        m.confusion,
        m.classes,
        `Confusion matrix: ${name}`,
        `accuracy ${pct(m.accuracy)} (${m.correct} of ${m.count} test ${shape ? what : 'rows'}) · shade: share of the row`,
      ),
    ),
  );

  // Most confident mistakes first: those are the ones worth looking at.
  const errors = shape
    ? [...m.errors].sort((x, y) => y.probability - x.probability || x.index - y.index).slice(0, MAX_TILES)
    : [];
  // A sample's name under its picture: its test index, or (folders) its file, shortened to fit.
  const tag = (index: number, id?: string) =>
    id === undefined ? `#${index}` : id.length > 14 ? `…${id.slice(-13)}` : id;
  const errorTiles: Tile[] = errors.map((e) => ({
    pixels: picture(test, e.index, size),
    caption: [
      [
        { text: labels[e.label], bold: true },
        { text: ' → ', fill: MUTED },
        { text: labels[e.predicted], fill: BAD, bold: true },
        { text: `  ${shortPct(e.probability)}`, fill: MUTED },
      ],
      [{ text: tag(e.index, e.id), fill: MUTED }],
    ],
  }));
  if (shape)
    put(
      'errors.png',
      await renderDigitGrid(
        `Misclassified test ${what}: ${name}`,
        [
          `${m.errors.length} of ${m.count} misclassified, most confident first · caption: true → predicted (probability), ${data.format === 'idx' ? 'test index' : 'file'}`,
          ...leftOut(m.errors.length, errors.length),
        ],
        errorTiles,
        `no misclassified ${what}`,
        shape,
      ),
    );

  if (model && shape && shape.channels === 1 && shape.width === shape.height) {
    const shown = errors.slice(0, EXPLAINED_ERRORS);
    put(
      'errors-explained.png',
      await renderErrorsExplained(
        model,
        `Why the most confident mistakes happen: ${name}`,
        `the ${shown.length} most confident of ${m.errors.length} mistakes · saliency (d logit / d x) for the true and the predicted class, one scale per digit · red raises the class, blue lowers it`,
        shown.map((e) => ({ ...e, pixels: picture(test, e.index, size) })),
        shape.width,
      ),
    );
  }

  const history = m.history;
  if (history) put('curves.png', await svgToPng(curvesSvg(history, `Training history: ${name}`, m.historyFrom)));

  let disagreementsShown: number | undefined;
  if (rep.compare && shape) {
    const c = rep.compare;
    const nameB = path.basename(c.model.path);
    const shown = c.disagreements.slice(0, MAX_TILES);
    disagreementsShown = shown.length;
    const pred = (who: string, p: { predicted: number; probability: number }, label: number): Segment[] => [
      { text: `${who} `, fill: MUTED },
      { text: labels[p.predicted], fill: p.predicted === label ? GOOD : BAD, bold: true },
      { text: ` ${shortPct(p.probability)}`, fill: MUTED },
    ];
    const tiles: Tile[] = shown.map((d) => ({
      pixels: picture(test, d.index, size),
      caption: [
        [
          { text: 'true ', fill: MUTED },
          { text: labels[d.label], bold: true },
        ],
        pred('A', d.a, d.label),
        pred('B', d.b, d.label),
        [{ text: tag(d.index, data.format === 'idx' ? undefined : test.id(d.index)), fill: MUTED }],
      ],
    }));
    put(
      'disagreements.png',
      await renderDigitGrid(
        `Where the models disagree: A ${name} vs B ${nameB}`,
        [
          `${c.disagreements.length} of ${c.agreement.count} test ${what} differ · agreement ${pct(c.agreement.rate)} · accuracy A ${pct(m.accuracy)}, B ${pct(c.model.accuracy)} · green = right, red = wrong`,
          ...leftOut(c.disagreements.length, shown.length),
        ],
        tiles,
        `the two models agree on every test ${what.replace(/s$/, '')}`,
        shape,
      ),
    );
  }

  rep.report = {
    dir,
    files: [...staged.keys(), 'report.json'],
    errorsShown: errors.length,
    ...(disagreementsShown !== undefined ? { disagreementsShown } : {}),
    textRendered,
  };
  put('report.json', JSON.stringify(rep, null, 2) + '\n');
  try {
    await writeFilesAtomic(dir, staged, REPORT_FILES);
  } catch (err) {
    if (err instanceof WriteError) throw new OptionError('report', `${dir}: cannot write the report: ${err.why}`);
    throw err;
  }
}
