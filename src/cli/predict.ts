import type { Command } from 'commander';
import { registerNotBuilt } from './not-built.js';

export function register(program: Command): void {
  registerNotBuilt(program, 'predict', 'Classify image files through the shipped core');
}
