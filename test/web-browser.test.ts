// `digitkit web` end to end in a real headless Chromium: the exported site served on 127.0.0.1, strokes
// drawn on the canvas with real mouse (and touch) events, and the page's prediction and 28x28 input
// checked against `digitkit predict` in Node on the very same drawing (the canvas exported as PNG).
// One browser for the whole file; screenshots are kept in test-artifacts/.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findChromium, launchChromium, type Chromium } from '../src/node/chromium.js';
import { startStaticServer, type StaticServer } from '../src/node/static-server.js';
import type { Page } from 'playwright-core';
import { ROOT, runCli } from './helpers/cli.js';
import { tempDir, writeRandomModel } from './helpers/random-model.js';
import { digitAt, loadT10k, requireTestModel, TEST_MODEL } from './helpers/render.js';
import { traceStrokes } from './helpers/strokes.js';

/** Page and predict must agree on any model; "a line reads 1" needs a trained one (checked last). */
const TRAINED = fs.existsSync(TEST_MODEL);
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
/** t10k digits traced as strokes (index, label): a 7 drawn from its tips, and a 2 with its curl. */
const TRACED = [0, 1];

const dir = tempDir('digitkit-web-e2e-');
const site = path.join(dir, 'site');
let model: string;
let server: StaticServer;
let chromium: Chromium;
let page: Page;
const seen = { errors: [] as string[], requests: [] as string[], coreBytes: null as Buffer | null };

interface PageState {
  ready: boolean;
  found: boolean;
  pixels: number[];
  prediction: { label: string; index: number; probability: number; probs: number[] } | null;
  updates: number;
  error: string | null;
}
const state = () => page.evaluate(() => (window as unknown as { digitkit: PageState }).digitkit);

beforeAll(async () => {
  model = TRAINED ? TEST_MODEL : writeRandomModel(dir, 'random.json', { seed: 31 });
  const w = await runCli(['web', site, '--model', model]);
  expect(w.stderr).toBe('');
  expect(w.code).toBe(0);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  server = await startStaticServer(site);
  chromium = await launchChromium(findChromium());
  page = await chromium.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') seen.errors.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => seen.errors.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => seen.errors.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on('request', (r) => seen.requests.push(r.url()));
  page.on('response', async (r) => {
    if (r.url().endsWith('/digitkit-core.js')) seen.coreBytes = await r.body();
  });
  await page.goto(server.url);
  await page.waitForFunction(() => {
    const d = (window as unknown as { digitkit?: PageState }).digitkit;
    return d?.ready || d?.error;
  });
});

afterAll(async () => {
  await chromium?.close();
  await server?.close();
});

type Point = [number, number];

/** Clear the pad, draw `strokes` (pad fractions 0..1) with the mouse, and collect what the page shows. */
async function draw(name: string, strokes: Point[][], steps = 1) {
  await page.click('#clear');
  const box = (await page.locator('#pad').boundingBox())!;
  const at = ([x, y]: Point): Point => [box.x + x * box.width, box.y + y * box.height];
  for (const s of strokes) {
    await page.mouse.move(...at(s[0]));
    await page.mouse.down();
    for (const p of s.slice(1)) await page.mouse.move(...at(p), { steps });
    await page.mouse.up();
  }
  return collect(name);
}

/** What the page shows now, and what `digitkit predict` says about the canvas exported as PNG. */
async function collect(name: string) {
  const shown = { digit: await page.locator('#digit').textContent(), state: await state() };
  const dataUrl = await page.locator('#pad').evaluate((c: HTMLCanvasElement) => c.toDataURL('image/png'));
  const png = path.join(dir, `${name}.png`);
  fs.writeFileSync(png, Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'));
  await page.screenshot({ path: path.join(ARTIFACTS, `web-${name}.png`) });
  const saveDir = path.join(dir, `${name}-28x28`);
  const r = await runCli(['predict', png, '--model', model, '--top', '10', '--json', '--save-preprocessed', saveDir]);
  expect(r.code, r.stderr).toBe(0);
  const [row] = JSON.parse(r.stdout) as {
    digit: number;
    probability: number;
    top: { digit: number; p: number }[];
    preprocessed: string;
  }[];
  const saved = await sharp(row.preprocessed).extractChannel(0).raw().toBuffer();
  return { shown, row, saved };
}

/** The page and predict agree exactly: the 28x28 input, the digit, every probability. */
function expectSameAsPredict({ shown, row, saved }: Awaited<ReturnType<typeof collect>>) {
  expect(shown.state.found).toBe(true);
  expect(Array.from(saved)).toEqual(shown.state.pixels);
  expect(shown.digit).toBe(String(row.digit));
  expect(shown.state.prediction!.label).toBe(String(row.digit));
  const probs = shown.state.prediction!.probs;
  expect(row.top).toHaveLength(probs.length);
  for (const t of row.top) expect(Math.abs(t.p - probs[t.digit])).toBeLessThanOrEqual(1e-12);
}

const results = new Map<string, string | null>();

describe(`the page from \`digitkit web\` in ${process.env.DIGITKIT_CHROMIUM ?? 'the system Chromium'}`, () => {
  it('loads the shipped core (the same bytes as dist/core/index.js) and the model from 127.0.0.1 only, with no console error', async () => {
    const s = await state();
    expect(s.error).toBeNull();
    expect(s.ready).toBe(true);
    expect(s.found).toBe(false);
    expect(await page.locator('#digit').textContent()).toBe('–');
    expect(await page.locator('#bars li').count()).toBe(10);
    expect(seen.coreBytes).toEqual(fs.readFileSync(path.join(ROOT, 'dist/core/index.js')));
    expect(seen.requests.map((u) => new URL(u).pathname).sort()).toEqual([
      '/',
      '/app.js',
      '/digitkit-core.js',
      '/model.json',
      '/style.css',
    ]);
    expect(seen.requests.filter((u) => !u.startsWith(server.url))).toEqual([]);
    expect(seen.errors).toEqual([]);
  });

  it('a vertical line: the displayed digit, every probability and the 28x28 input equal `digitkit predict` on the exported PNG', async () => {
    const r = await draw(
      'line',
      [
        [
          [0.5, 0.15],
          [0.5, 0.85],
        ],
      ],
      25,
    );
    expectSameAsPredict(r);
    results.set('line', r.shown.digit);
  });

  it('a loop: the same agreement', async () => {
    const loop: Point[] = Array.from({ length: 41 }, (_, k) => [
      0.5 + 0.2 * Math.sin((k / 40) * 2 * Math.PI),
      0.5 - 0.32 * Math.cos((k / 40) * 2 * Math.PI),
    ]);
    const r = await draw('loop', [loop]);
    expectSameAsPredict(r);
    results.set('loop', r.shown.digit);
  });

  it('t10k digits traced as strokes: the same agreement', async () => {
    const t10k = await loadT10k();
    for (const i of TRACED) {
      const strokes = traceStrokes(digitAt(t10k, i).pixels).map((s) => s.map(([x, y]): Point => [x / 28, y / 28]));
      const r = await draw(`t10k-${i}`, strokes);
      expectSameAsPredict(r);
      results.set(`t10k-${i}`, r.shown.digit);
    }
  });

  it('a finger draws too (touch events become pointer events)', async () => {
    await page.click('#clear');
    const box = (await page.locator('#pad').boundingBox())!;
    const cdp = await chromium.context.newCDPSession(page);
    const touch = (type: string, y: number) =>
      cdp.send('Input.dispatchTouchEvent', {
        type,
        touchPoints: type === 'touchEnd' ? [] : [{ x: box.x + box.width / 2, y: box.y + y * box.height }],
      });
    await touch('touchStart', 0.2);
    for (let y = 0.25; y <= 0.8; y += 0.05) await touch('touchMove', y);
    await touch('touchEnd', 0.8);
    await cdp.detach();
    expectSameAsPredict(await collect('touch'));
  });

  it('Clear empties the pad, the prediction and the 28x28 input', async () => {
    await page.click('#clear');
    const s = await state();
    expect(s.found).toBe(false);
    expect(s.prediction).toBeNull();
    expect(s.pixels.every((v) => v === 0)).toBe(true);
    expect(await page.locator('#digit').textContent()).toBe('–');
  });

  it('made no request outside 127.0.0.1 and logged no error while drawing', () => {
    expect(seen.requests.filter((u) => !u.startsWith(server.url))).toEqual([]);
    expect(seen.errors).toEqual([]);
  });

  it('with a trained model: the line reads 1, the loop 0, each traced digit its label', async () => {
    requireTestModel();
    const t10k = await loadT10k();
    expect(Object.fromEntries(results)).toEqual({
      line: '1',
      loop: '0',
      ...Object.fromEntries(TRACED.map((i) => [`t10k-${i}`, String(digitAt(t10k, i).label)])),
    });
  });
});
