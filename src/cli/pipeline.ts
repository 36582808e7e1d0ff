import type { Command } from 'commander';
import { registerNotBuilt } from './not-built.js';

export function register(program: Command): void {
  registerNotBuilt(program, 'pipeline', 'download, train, quantize, fixtures, verify in one go');
}
