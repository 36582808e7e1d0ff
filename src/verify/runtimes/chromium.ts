/** `verify --runtime chromium` (alias `--browser`): the system Chromium, headless, driven by playwright-core. */
import { findChromium, launchChromium } from '../../node/chromium.js';
import { resolveOptional } from '../../node/optional.js';
import { inPage, startModuleServer } from './page.js';
import { outputOf, type RuntimeAdapter } from './runtime.js';

export const adapter: RuntimeAdapter = {
  name: 'chromium',
  find: (opts) => {
    findChromium(opts.executable);
    resolveOptional('playwright-core');
  },
  open: async (opts) => {
    const executable = findChromium(opts.executable);
    const modules = await startModuleServer();
    let browser;
    try {
      browser = await launchChromium(executable);
    } catch (err) {
      await modules.close();
      throw err;
    }
    const page = await browser.newPage();
    await page.goto(modules.server.url);
    const b = browser;
    return {
      name: 'chromium',
      version: b.label,
      loadsModule: true,
      async run(job) {
        const result = await page.evaluate(inPage, await modules.argsFor(job));
        return outputOf(result, job.module, b.label);
      },
      async close() {
        await b.close();
        await modules.close();
      },
    };
  },
};
