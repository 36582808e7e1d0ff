/** `verify --runtime bun`: the npm package `bun` (its binary arrives as a platform package). */
import path from 'node:path';
import { fromEnv, onPath, npmBinary, unavailable, type RuntimeAdapter } from './runtime.js';
import { openChildRuntime } from './subprocess.js';

const HOW =
  'install it with `npm install --save-dev bun` (the binary comes as a platform package), or set DIGITKIT_BUN';

export function findBun(): string {
  const env = fromEnv('DIGITKIT_BUN', HOW);
  if (env) return env;
  const found = npmBinary('bun', (dir) => path.join(dir, 'bin', 'bun'), 'bin/bun.exe') ?? onPath('bun');
  if (!found) throw unavailable(`no Bun found (npm package bun, or bun on PATH): ${HOW}`);
  return found;
}

export const adapter: RuntimeAdapter = {
  name: 'bun',
  find: () => void findBun(),
  // --no-install: never fetch packages on the fly.
  open: async () => openChildRuntime({ name: 'bun', executable: findBun(), args: () => ['run', '--no-install'] }),
};
