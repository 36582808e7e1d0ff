// Build: compile src/ to dist/ (with .d.ts), then re-emit the browser core on its own, type-checked
// with no Node types and stripped of comments, and copy the web page's files (src/web/assets) as they
// are. `npm ci` runs this through `prepare`.
import { execFileSync } from 'node:child_process';
import { cpSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const run = (args) => execFileSync(process.execPath, [tsc, ...args], { stdio: 'inherit' });

try {
  run(['-p', 'tsconfig.json']);
  run(['-p', 'src/core/tsconfig.json']);
  rmSync('dist/web/assets', { recursive: true, force: true });
  cpSync('src/web/assets', 'dist/web/assets', { recursive: true });
} catch {
  console.error('build failed (see the TypeScript errors above)');
  process.exit(1);
}
