/** `verify --runtime deno`: the npm package `deno` (its binary arrives as a platform package). */
import path from 'node:path';
import { fromEnv, onPath, npmBinary, unavailable, type RuntimeAdapter } from './runtime.js';
import { openChildRuntime } from './subprocess.js';

const HOW =
  'install it with `npm install --save-dev deno` (the binary comes as a platform package), or set DIGITKIT_DENO';

export function findDeno(): string {
  const env = fromEnv('DIGITKIT_DENO', HOW);
  if (env) return env;
  const found = npmBinary('deno', (dir) => path.join(dir, 'deno'), 'deno') ?? onPath('deno');
  if (!found) throw unavailable(`no Deno found (npm package deno, or deno on PATH): ${HOW}`);
  return found;
}

export const adapter: RuntimeAdapter = {
  name: 'deno',
  find: () => void findDeno(),
  open: async () => {
    const executable = findDeno();
    return openChildRuntime({
      name: 'deno',
      executable,
      // Read access to the module's directory only: nothing else, no network, no prompts, no config.
      args: (job) => [
        'run',
        '--quiet',
        '--no-prompt',
        '--no-config',
        '--no-lock',
        '--no-remote',
        '--no-npm',
        ...(job ? [`--allow-read=${path.dirname(path.resolve(job.module))}`] : []),
      ],
      env: { DENO_NO_UPDATE_CHECK: '1' },
    });
  },
};
