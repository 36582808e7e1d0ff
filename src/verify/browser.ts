/**
 * `digitkit verify --browser` as a library call: the same fixtures through the same core module in
 * headless Chromium (runtimes/chromium.ts serves the module from 127.0.0.1; the page imports it).
 */
import type { VerifyOptions, VerifyReport } from './verify.js';

export interface BrowserVerifyOptions extends VerifyOptions {
  /** Chromium executable (default: $DIGITKIT_CHROMIUM, else /usr/bin/chromium or another common path). */
  chromium?: string;
}

export interface BrowserVerifyReport extends VerifyReport {
  /** The runtime the cases ran in, e.g. "Chromium 156.0.8078.108". */
  browser: string;
}

/** The whole check in Chromium. Exit codes as `verify`: the report's `ok` (0/1), 3 for bad inputs; 4 without Chromium. */
export async function runVerifyBrowser(opts: BrowserVerifyOptions = {}): Promise<BrowserVerifyReport> {
  const { runOneRuntime } = await import('./verify-runtimes.js');
  const { runtime: _, version, ...r } = await runOneRuntime('chromium', opts);
  return { ...r, browser: version };
}
