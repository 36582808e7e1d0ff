/**
 * `verify --runtime firefox`: Debian's firefox-esr, headless, driven by puppeteer-core over WebDriver
 * BiDi (Playwright's Firefox needs a patched build). No Firefox is exit 4 with how to install one.
 */
import { importOptional, resolveOptional } from '../../node/optional.js';
import { inPage, startModuleServer } from './page.js';
import { fromEnv, isExecutableFile, outputOf, unavailable, type RuntimeAdapter } from './runtime.js';

/** Where Debian's `apt-get install firefox-esr` puts it, then other common names. */
export const FIREFOX_CANDIDATES = ['/usr/bin/firefox-esr', '/usr/bin/firefox', '/usr/lib/firefox-esr/firefox-esr'];
const HOW =
  'install it with `apt-get install firefox-esr` (Debian; `firefox` elsewhere), or set DIGITKIT_FIREFOX to a Firefox executable';

export function findFirefox(): string {
  const env = fromEnv('DIGITKIT_FIREFOX', HOW);
  if (env) return env;
  const found = FIREFOX_CANDIDATES.find(isExecutableFile);
  if (!found) throw unavailable(`no Firefox found (looked for ${FIREFOX_CANDIDATES.join(', ')}): ${HOW}`);
  return found;
}

export const adapter: RuntimeAdapter = {
  name: 'firefox',
  find: () => {
    findFirefox();
    resolveOptional('puppeteer-core');
  },
  open: async () => {
    const executable = findFirefox();
    // puppeteer-core takes a while to load: only a Firefox run pays for it.
    const { default: puppeteer } = await importOptional<typeof import('puppeteer-core')>('puppeteer-core');
    const modules = await startModuleServer();
    let browser;
    try {
      browser = await puppeteer.launch({
        browser: 'firefox',
        executablePath: executable,
        headless: true,
        // Nothing that talks to the network on its own (puppeteer already turns most of it off).
        extraPrefsFirefox: {
          'network.captive-portal-service.enabled': false,
          'network.connectivity-service.enabled': false,
        },
      });
    } catch (err) {
      await modules.close();
      throw unavailable(`${executable} did not start (${(err as Error).message.split('\n')[0]}): ${HOW}`);
    }
    const b = browser;
    const version = (await b.version()).replace(/^firefox\//i, 'Firefox ');
    const page = await b.newPage();
    await page.goto(modules.server.url);
    return {
      name: 'firefox',
      version,
      loadsModule: true,
      async run(job) {
        const result = await page.evaluate(inPage, await modules.argsFor(job));
        return outputOf(result, job.module, version);
      },
      async close() {
        await b.close().catch(() => undefined);
        await modules.close();
      },
    };
  },
};
