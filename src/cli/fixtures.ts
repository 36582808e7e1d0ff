import type { Command } from 'commander';
import { registerNotBuilt } from './not-built.js';

export function register(program: Command): void {
  registerNotBuilt(program, 'fixtures', 'Write parity fixtures from a model');
}
