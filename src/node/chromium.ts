/**
 * The system Chromium, driven by playwright-core (which never downloads a browser of its own here):
 * find the executable, launch it headless with a throwaway profile, and say which version it is.
 * No Chromium is exit 4 with how to install one: a browser check is never silently skipped.
 */
import { importOptional } from './optional.js';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { DigitkitError, ExitCode } from '../errors.js';

/** Where Debian's `apt-get install chromium` puts it, then other common names. */
export const CHROMIUM_CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
];

/** Headless, no sandbox (containers, root), and nothing that talks to the network on its own. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];

const HOW_TO_INSTALL =
  'install one with `apt-get install chromium` (Debian, Ubuntu), or set DIGITKIT_CHROMIUM to a Chromium or Chrome executable';

const noChromium = (what: string) => new DigitkitError(ExitCode.unavailable, `${what}: ${HOW_TO_INSTALL}`);

function isExecutableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The Chromium to run: `explicit` (--chromium), else $DIGITKIT_CHROMIUM, else the first of
 * CHROMIUM_CANDIDATES that exists. A path that was asked for is never replaced by another.
 */
export function findChromium(explicit?: string): string {
  const env = process.env.DIGITKIT_CHROMIUM;
  const asked = explicit ?? (env || undefined);
  if (asked) {
    if (isExecutableFile(asked)) return asked;
    throw noChromium(`${asked} (from ${explicit ? '--chromium' : 'DIGITKIT_CHROMIUM'}) is not an executable file`);
  }
  const found = CHROMIUM_CANDIDATES.find(isExecutableFile);
  if (!found) throw noChromium(`no Chromium found (looked for ${CHROMIUM_CANDIDATES.join(', ')})`);
  return found;
}

export interface Chromium {
  executable: string;
  /** e.g. "156.0.8078.108". */
  version: string;
  /** e.g. "Chromium 156.0.8078.108": how reports name the runtime. */
  label: string;
  context: BrowserContext;
  newPage(): Promise<Page>;
  /** Close the browser and remove its profile directory. */
  close(): Promise<void>;
}

/** Launch `executable` headless with a fresh profile in a temp directory (removed on close or exit). */
export async function launchChromium(executable: string): Promise<Chromium> {
  // playwright-core takes ~150 ms to load: only the commands that drive a browser pay for it.
  const { chromium } = await importOptional<typeof import('playwright-core')>('playwright-core');
  const profile = await fsp.mkdtemp(path.join(os.tmpdir(), 'digitkit-chromium-'));
  const removeProfile = () => fs.rmSync(profile, { recursive: true, force: true, maxRetries: 3 });
  process.on('exit', removeProfile);
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: executable,
      headless: true,
      args: CHROMIUM_ARGS,
    });
  } catch (err) {
    process.off('exit', removeProfile);
    removeProfile();
    const reason = (err as Error).message.replace(/^browserType\.launchPersistentContext: /, '').split('\n')[0];
    throw noChromium(`${executable} did not start (${reason})`);
  }
  const version = context.browser()?.version() ?? 'unknown';
  return {
    executable,
    version,
    label: `Chromium ${version}`,
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close().catch(() => undefined);
      process.off('exit', removeProfile);
      removeProfile();
    },
  };
}
