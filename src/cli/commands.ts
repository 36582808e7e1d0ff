/** Every subcommand, in the order `digitkit --help` lists them. */
import type { Command } from 'commander';
import { register as download } from './download.js';
import { register as train } from './train.js';
import { register as quantize } from './quantize.js';
import { register as fixtures } from './fixtures.js';
import { register as verify } from './verify.js';
import { register as predict } from './predict.js';
import { register as pipeline } from './pipeline.js';
import { register as evaluate } from './eval.js';
import { register as web } from './web.js';

export const COMMANDS: ReadonlyArray<(program: Command) => void> = [download, train, quantize, fixtures, verify, predict, pipeline, evaluate, web];
