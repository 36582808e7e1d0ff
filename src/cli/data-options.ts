/**
 * The flags that say how to read a data source, shared by every command that reads one (train,
 * inspect, pipeline): --format, --labels, --size, --channels, --preprocess, --label-column, --test,
 * --test-split. They map onto data/open.ts's DataOptions.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from './commander.js';
import { OptionError } from '../errors.js';
import { DATA_FORMATS, parseSize, type DataFormat } from '../data/dataset.js';
import type { DataOptions } from '../data/open.js';
import { choiceOption, numberOption } from './options.js';

export interface DataFlags {
  format?: DataFormat;
  labels?: string;
  size?: [number, number];
  channels?: '1' | '3';
  preprocess?: 'digit' | 'resize';
  labelColumn?: string;
  test?: string;
  testSplit?: number;
}

function sizeOption(value: string): [number, number] {
  try {
    return parseSize(value);
  } catch (err) {
    if (err instanceof OptionError) throw new InvalidArgumentError(err.problem);
    throw err;
  }
}

/** Add the data-reading flags to a command. */
export function addDataOptions(cmd: Command, withTest = true): Command {
  cmd
    .option('--format <format>', 'idx | folder | csv (default: detected from the path)', choiceOption(DATA_FORMATS))
    .option('--labels <file>', 'class names for integer labels (IDX, CSV), one per line')
    .option('--size <WxH>', 'image folders: resize pictures to W x H pixels (default 28x28)', sizeOption)
    .option('--channels <n>', 'image folders: 1 (gray, default) or 3 (RGB)', choiceOption(['1', '3'] as const))
    .option(
      '--preprocess <mode>',
      'how a picture becomes pixels: resize (the whole picture; default for folders) or digit (MNIST-style centring; default for IDX)',
      choiceOption(['digit', 'resize'] as const),
    )
    .option('--label-column <name>', 'CSV: the column holding the class (default "label")');
  if (withTest)
    cmd
      .option('--test <path>', 'folders and CSV: a test folder or file of the same shape')
      .option(
        '--test-split <fraction>',
        'folders and CSV: hold out this fraction of each class as the test split, seeded (default 0.2)',
        numberOption,
      );
  return cmd;
}

/**
 * The reading flags of the commands that measure a trained model on data (quantize, fixtures, eval):
 * the rest of how to read it comes from the model.
 */
export function addModelDataOptions(cmd: Command): Command {
  return cmd
    .option('--format <format>', 'idx | folder | csv (default: detected)', choiceOption(DATA_FORMATS))
    .option('--label-column <name>', 'CSV: the label column (default: the one the model was trained with, or "label")');
}

export function dataOptionsFrom(f: DataFlags): Omit<DataOptions, 'onProgress'> {
  return {
    format: f.format,
    labels: f.labels,
    size: f.size,
    channels: f.channels === undefined ? undefined : f.channels === '3' ? 3 : 1,
    preprocess: f.preprocess,
    labelColumn: f.labelColumn,
    test: f.test,
    testSplit: f.testSplit,
  };
}
