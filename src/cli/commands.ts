/**
 * Every subcommand, in the order `digitkit --help` lists them. Each one's module is imported only
 * when the program needs it (see `buildProgram`), so a command does not pay for loading the others.
 */
import type { Command } from 'commander';

export interface CommandEntry {
  name: string;
  load(): Promise<{ register(program: Command): void }>;
}

export const COMMANDS: ReadonlyArray<CommandEntry> = [
  { name: 'download', load: () => import('./download.js') },
  { name: 'inspect', load: () => import('./inspect.js') },
  { name: 'train', load: () => import('./train.js') },
  { name: 'quantize', load: () => import('./quantize.js') },
  { name: 'compress', load: () => import('./compress.js') },
  { name: 'fixtures', load: () => import('./fixtures.js') },
  { name: 'verify', load: () => import('./verify.js') },
  { name: 'predict', load: () => import('./predict.js') },
  { name: 'pipeline', load: () => import('./pipeline.js') },
  { name: 'eval', load: () => import('./eval.js') },
  { name: 'explain', load: () => import('./explain.js') },
  { name: 'web', load: () => import('./web.js') },
  { name: 'export', load: () => import('./export.js') },
  { name: 'import', load: () => import('./import.js') },
];
