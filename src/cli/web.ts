import type { Command } from 'commander';
import { registerNotBuilt } from './not-built.js';

export function register(program: Command): void {
  registerNotBuilt(program, 'web', 'Write the browser demo as a static site');
}
