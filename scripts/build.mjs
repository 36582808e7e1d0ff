// Build: compile src/ to dist/ (with .d.ts), then re-emit the browser core on its own, type-checked
// with no Node types and stripped of comments. `npm ci` runs this through `prepare`.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
const run = (args) => execFileSync(process.execPath, [tsc, ...args], { stdio: 'inherit' });

try {
  run(['-p', 'tsconfig.json']);
  run(['-p', 'src/core/tsconfig.json']);
} catch {
  console.error('build failed (see the TypeScript errors above)');
  process.exit(1);
}
