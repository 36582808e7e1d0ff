import type { Command } from 'commander';
import { registerNotBuilt } from './not-built.js';

export function register(program: Command): void {
  registerNotBuilt(program, 'download', 'Get the four MNIST IDX files, verified by SHA-256');
}
