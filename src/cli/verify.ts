import type { Command } from 'commander';
import { registerNotBuilt } from './not-built.js';

export function register(program: Command): void {
  registerNotBuilt(program, 'verify', 'Check the shipped inference core against parity fixtures');
}
