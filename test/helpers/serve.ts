// `digitkit web <out> --serve` as a child process: resolves with the URL it prints, and a stop (Ctrl-C).
import { spawn } from 'node:child_process';
import { BIN, ROOT } from './cli.js';

export interface Served {
  url: string;
  stop: () => Promise<{ code: number | null; stdout: string }>;
  stderr: () => string;
}

/** Start `digitkit web ...args` (args include --serve) and resolve once it is serving. */
export function serveSite(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [BIN, 'web', ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = /^serving .* at (http:\/\/[^ ]+:\d+\/) \(Ctrl-C stops\)$/m.exec(stdout);
      if (m)
        resolve({
          url: m[1],
          stderr: () => stderr,
          stop: async () => {
            child.kill('SIGINT');
            return { code: await exited, stdout };
          },
        });
    });
    exited.then((code) => reject(new Error(`exited ${code} before serving: ${stderr}`)));
  });
}
