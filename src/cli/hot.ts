/**
 * The CLI's hot path: `digitkit predict …` and `digitkit --version`, the same program as main.ts with
 * `predict` as its only command. scripts/build.mjs bundles this file with everything it imports
 * (commander included) into one file, dist/cli/hot.js, which bin/digitkit.js runs for those arguments:
 * one file to load instead of about thirty, so a one-image predict starts about as fast as Node does.
 * (`predict --help` prints the same text either way: main.ts also loads the named command alone.)
 */
import * as predict from './predict.js';
import { runProgram } from './program.js';
// What predict's action loads for every run, made part of the bundle's one file (its dynamic
// import then finds them loaded); rarer paths (CSV rows' parser, worker threads, --save-preprocessed)
// stay in chunks of their own.
import '../predict/predict.js';
import './progress.js';

export function main(argv: string[]): Promise<void> {
  return runProgram(argv, [{ name: 'predict', load: async () => predict }]);
}
