import type { Command } from 'commander';
import { registerNotBuilt } from './not-built.js';

export function register(program: Command): void {
  registerNotBuilt(program, 'eval', 'Test-set accuracy, confusion matrix and reports');
}
