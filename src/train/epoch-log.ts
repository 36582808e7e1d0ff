/**
 * `--log FILE.csv`: one row per epoch (Keras' CSVLogger), with a header, rewritten whole and atomically
 * after every epoch, so the file is always a complete table, never a half-written row. A resumed run
 * keeps the rows of the epochs already done: from the existing file when it has them, else from the
 * checkpoint's history (without the timing and validation-loss columns, which the history lacks).
 */
import fs from 'node:fs/promises';
import { writeFileAtomic } from '../node/atomic.js';
import type { EpochRecord, History } from './loop.js';

export const LOG_COLUMNS = [
  'epoch',
  'loss',
  'train_accuracy',
  'val_loss',
  'val_accuracy',
  'lr',
  'seconds',
  'images_per_second',
] as const;
const HEADER = LOG_COLUMNS.join(',');

const num = (x: number | null | undefined, digits = 6) =>
  x === null || x === undefined ? '' : String(+x.toPrecision(digits));

function row(e: EpochRecord): string {
  return [
    e.epoch,
    num(e.loss),
    num(e.trainAccuracy),
    num(e.valLoss),
    num(e.valAccuracy),
    num(e.lr),
    e.seconds.toFixed(3),
    Math.round(e.imagesPerSecond),
  ].join(',');
}

/** The log of a run that has completed `done` epochs (0 for a new run); `add` writes the file. */
export async function openEpochLog(file: string, done: number, history: History) {
  const rows: string[] = [];
  if (done > 0) {
    const old = await fs.readFile(file, 'utf8').catch(() => '');
    const lines = old.split('\n');
    const kept = lines[0] === HEADER ? lines.slice(1, done + 1) : [];
    for (let i = 0; i < done; i++) {
      if (kept[i]?.split(',')[0] === String(i + 1)) rows.push(kept[i]);
      else
        rows.push(
          [
            i + 1,
            num(history.loss[i]),
            num(history.trainAccuracy[i]),
            '',
            num(history.valAccuracy[i]),
            num(history.lr[i]),
            '',
            '',
          ].join(','),
        );
    }
  }
  return {
    async add(e: EpochRecord) {
      rows.push(row(e));
      await writeFileAtomic(file, [HEADER, ...rows].join('\n') + '\n');
    },
  };
}
