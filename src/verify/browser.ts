/**
 * `digitkit verify --browser`: the same fixtures through the same core module, run inside headless
 * Chromium. The module is served from 127.0.0.1 and loaded by the page with a real dynamic
 * `import()` (the bytes of the file, never injected source); the cases run through verify's own
 * `runCases`, and the verdict is verify's own `compareProbs`.
 */
import { findChromium, launchChromium, type Chromium } from '../node/chromium.js';
import { DigitkitError, ExitCode, invalidInput } from '../errors.js';
import { readInputFile } from '../node/input-file.js';
import { SHIPPED_CORE } from '../node/paths.js';
import { startStaticServer } from '../node/static-server.js';
import {
  caseInputs,
  compareProbs,
  displayPath,
  loadVerifyInputs,
  runCases,
  type VerifyOptions,
  type VerifyReport,
} from './verify.js';

export interface BrowserVerifyOptions extends VerifyOptions {
  /** Chromium executable (default: $DIGITKIT_CHROMIUM, else /usr/bin/chromium or another common path). */
  chromium?: string;
}

export interface BrowserVerifyReport extends VerifyReport {
  /** The runtime the cases ran in, e.g. "Chromium 156.0.8078.108". */
  browser: string;
}

/** An empty page to give the module an http origin. */
const PAGE = '<!doctype html><meta charset="utf-8"><title>digitkit verify</title><link rel="icon" href="data:,">';

/** "page.evaluate: ModelError: x: y\n    at ..." -> { name: "ModelError", message: "x: y" }. */
function pageError(err: unknown): { name: string; message: string } {
  const line = ((err as Error)?.message ?? String(err)).replace(/^page\.evaluate: /, '').split('\n')[0];
  const m = /^(\w*Error): (.*)$/.exec(line);
  return m ? { name: m[1], message: m[2] } : { name: 'Error', message: line };
}

/** The whole check in Chromium. Exit codes as `verify`: the report's `ok` (0/1), 3 for bad inputs; 4 without Chromium. */
export async function runVerifyBrowser(opts: BrowserVerifyOptions = {}): Promise<BrowserVerifyReport> {
  const executable = findChromium(opts.chromium);
  const { fixtures, fixturesPath, model, tolerance } = await loadVerifyInputs(opts);
  const corePath = opts.core ?? SHIPPED_CORE;
  const core = await readInputFile(corePath, { kind: 'core module', missing: 'no such core module' });

  const server = await startStaticServer(
    new Map<string, string | Uint8Array>([
      ['/index.html', PAGE],
      ['/core.js', core],
    ]),
  );
  let browser: Chromium | undefined;
  try {
    browser = await launchChromium(executable);
    const page = await browser.newPage();
    await page.goto(server.url);
    const coreUrl = new URL('core.js', server.url).href;
    // Loading first, on its own: a module that does not load in a browser (say, it imports node:fs)
    // is an unusable core (exit 3), not a parity failure.
    const loadError = await page.evaluate(
      (url) =>
        import(url).then(
          () => '',
          (e) => String(e?.message ?? e),
        ),
      coreUrl,
    );
    if (loadError) throw invalidInput(`${corePath}: the core module does not load in ${browser.label} (${loadError})`);
    let actual: number[][];
    try {
      actual = await page.evaluate(runCases, {
        coreUrl,
        modelText: model.bytes.toString('utf8'),
        source: model.path,
        ...caseInputs(fixtures.cases),
      });
    } catch (err) {
      const e = pageError(err);
      // As in Node: the core refusing the model is an invalid input; anything else fails the check.
      if (e.name === 'ModelError') throw invalidInput(e.message);
      throw new DigitkitError(
        ExitCode.checkFailed,
        `the core at ${corePath} failed in ${browser.label}: ${e.name}: ${e.message}`,
      );
    }
    return {
      ...compareProbs(fixtures.cases, actual, tolerance),
      model: { path: model.path, sha256: model.sha256 },
      fixtures: fixturesPath,
      core: displayPath(corePath),
      browser: browser.label,
    };
  } finally {
    await browser?.close();
    await server.close();
  }
}
