// The browser side: how long `digitkit verify --browser` takes next to `digitkit verify`, how long
// Chromium takes to start and the page to get ready, how long the page's self-test takes, and what one
// update of the page costs while drawing (getImageData + toGray + prepareImage + classifyPixels on the
// 280x280 pad, through the page's engine and through each module: core-wasm and the core; then the
// explain module's attribution and hidden layers, in Chromium), and the bytes.
// Model: $DIGITKIT_MODEL, else models/mnist-int8.json. Fixtures: made for it here (100 cases).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { gzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { findChromium, launchChromium } from '../dist/node/chromium.js';
import { embeddedMnistDir } from '../dist/data/mnist.js';
import { startStaticServer } from '../dist/node/static-server.js';
import { benchModel, benchTemp, BIN, ROOT } from './setup.mjs';

const MODEL = benchModel('web');
const tmp = benchTemp('digitkit-web-bench-');

const cli = (args) => {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`digitkit ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  return performance.now() - t0;
};
const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
const RUNS = 5;

const fixtures = path.join(tmp, 'parity.json');
const site = path.join(tmp, 'site');
cli(['fixtures', '--model', MODEL, '--out', fixtures, '--data', embeddedMnistDir()]);
cli(['web', site, '--model', MODEL, '--fixtures', fixtures]);
const verify = (extra) =>
  median(Array.from({ length: RUNS }, () => cli(['verify', '--model', MODEL, '--fixtures', fixtures, ...extra])));
const node = verify([]);
const browser = verify(['--browser']);

const server = await startStaticServer(site);
const t0 = performance.now();
const chromium = await launchChromium(findChromium());
const launch = performance.now() - t0;
const page = await chromium.newPage();
const t1 = performance.now();
await page.goto(server.url);
await page.waitForFunction(() => window.digitkit?.ready);
const ready = performance.now() - t1;
await page.waitForFunction(() => window.digitkit.selfTest.status !== 'pending');
const selfTest = await page.evaluate(() => window.digitkit.selfTest);
const selfTests = [];
for (let k = 0; k < RUNS; k++) {
  await page.reload();
  await page.waitForFunction(() => window.digitkit?.selfTest?.ms !== undefined);
  selfTests.push(await page.evaluate(() => window.digitkit.selfTest.ms));
}
const box = await page.locator('#pad').boundingBox();
await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.2);
await page.mouse.down();
await page.mouse.move(box.x + box.width * 0.5, box.y + box.height * 0.8, { steps: 20 });
await page.mouse.up();
const update = await page.evaluate(async () => {
  const engine = await import('./engine.js');
  const modules = { 'core-wasm': await import('./digitkit-core-wasm.js'), core: await import('./digitkit-core.js') };
  const explain = await import('./digitkit-explain.js');
  const pad = document.getElementById('pad');
  const ink = pad.getContext('2d', { willReadFrequently: true });
  const text = await (await fetch('model.json')).text();
  const time = (f, n) => {
    for (let i = 0; i < 20; i++) f();
    const t = performance.now();
    for (let i = 0; i < n; i++) f();
    return (performance.now() - t) / n;
  };
  const w = pad.width,
    h = pad.height;
  const rgba = ink.getImageData(0, 0, w, h).data;
  // Each module's own path for an update (getImageData, toGray for the overlay + prepareImage, which
  // grays again, classify); then its parts. The page itself (engine.inputFromRgba) grays once.
  const paths = {};
  for (const [name, m] of Object.entries(modules)) {
    const model = m.loadModel(text);
    const { pixels } = m.prepareImage(model, rgba, w, h);
    paths[name] = {
      engine: model.engine ?? 'core',
      update: time(() => {
        const data = ink.getImageData(0, 0, w, h).data;
        m.toGray(data);
        m.classifyPixels(model, m.prepareImage(model, data, w, h).pixels);
      }, 500),
      getImageData: time(() => ink.getImageData(0, 0, w, h), 500),
      prepare: time(() => m.prepareImage(model, rgba, w, h), 500),
      gray: time(() => m.toGray(rgba), 500),
      classify: time(() => m.classifyPixels(model, pixels), 5000),
    };
  }
  const model = engine.load(text, 'model.json');
  const pageUpdate = time(() => {
    const src = engine.inputFromRgba(model, ink.getImageData(0, 0, w, h).data, w, h);
    engine.classify(model, src.pixels);
  }, 500);
  const core = modules.core;
  const coreModel = core.loadModel(text);
  const p = core.prepareImage(coreModel, rgba, w, h).pixels;
  const x = core.pixelsToInput(coreModel, p);
  const k = core.classifyPixels(coreModel, p).index;
  return {
    pageEngine: engine.engineOf(model),
    pageUpdate,
    paths,
    ig: time(() => explain.integratedGradients(coreModel, x, k), 100),
    saliency: time(() => explain.saliency(coreModel, x, k), 300),
    hidden: time(() => explain.hiddenActivations(coreModel, x), 300),
  };
});
await chromium.close();
await server.close();

const ms = (x) => `${x.toFixed(0)} ms`;
console.log(
  `${chromium.label}, model ${path.relative(ROOT, MODEL) || MODEL}, load average ${os.loadavg()[0].toFixed(2)} on ${os.availableParallelism()} cores`,
);
console.log(`digitkit verify (Node), 100 cases          ${ms(node)} (median of ${RUNS}, whole process)`);
console.log(`digitkit verify --browser, 100 cases       ${ms(browser)} (median of ${RUNS}, whole process)`);
console.log(`Chromium launch (headless, fresh profile)  ${ms(launch)}`);
console.log(`page load until the model is ready        ${ms(ready)}`);
console.log(
  `${`page self-test, ${selfTest.cases} fixtures`.padEnd(43)}${selfTest.status}, max |Δp| ${selfTest.maxDiff.toExponential(2)}, ${ms(median(selfTests))} (median of ${RUNS} page loads)`,
);
console.log(
  `${'page classification of a drawing'.padEnd(43)}${update.pageUpdate.toFixed(3)} ms through engine.js (${update.pageEngine}): getImageData + toGray + preprocess + classify, 280x280 pad (target <= 1 ms)`,
);
for (const [name, t] of Object.entries(update.paths))
  console.log(
    `${`  ${name} (${t.engine})`.padEnd(43)}${t.update.toFixed(3)} ms = getImageData ${t.getImageData.toFixed(3)} + toGray ${t.gray.toFixed(3)} + prepareImage ${t.prepare.toFixed(3)} + classifyPixels ${(t.classify * 1000).toFixed(1)} µs`,
  );
console.log(
  `${"  + the overlay's attribution".padEnd(43)}${update.ig.toFixed(2)} ms integrated gradients (exact), ${update.saliency.toFixed(2)} ms saliency; hidden layers ${update.hidden.toFixed(3)} ms`,
);
const sizes = fs.readdirSync(site).map((f) => [f, fs.statSync(path.join(site, f)).size]);
// As a browser loads the page: one of the two inference modules (core-wasm with wasm SIMD, else the core).
const pageLoad = (skip) => sizes.filter(([f]) => f !== 'fixtures.json' && f !== skip).reduce((s, [, b]) => s + b, 0);
const explainGz = gzipSync(fs.readFileSync(path.join(site, 'digitkit-explain.js')), { level: 9 }).length;
console.log(
  `bytes: page ${pageLoad('digitkit-core.js')} with wasm SIMD, ${pageLoad('digitkit-core-wasm.js')} without (budget 200,000), fixtures.json ${sizes.find(([f]) => f === 'fixtures.json')?.[1]} (budget 150,000), digitkit-explain.js ${sizes.find(([f]) => f === 'digitkit-explain.js')[1]} (${explainGz} gzipped, budget 2,048)`,
);
