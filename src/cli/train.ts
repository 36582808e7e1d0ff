import type { Command } from 'commander';
import { registerNotBuilt } from './not-built.js';

export function register(program: Command): void {
  registerNotBuilt(program, 'train', 'Train the 784-128-64-10 MLP from scratch');
}
