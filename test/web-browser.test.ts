// `digitkit web` end to end in a real headless Chromium: the site served by `digitkit web --serve` on
// 127.0.0.1, strokes drawn on the canvas with real mouse (and touch) events, and the page's prediction
// and 28x28 input checked against `digitkit predict` in Node on the very same drawing (the canvas
// exported as PNG); the self-test over the fixtures beside the model (and its failure on a tampered
// model); the attribution overlay's pixels; image files dropped on the pad; the phone layout.
// One browser for the whole file; screenshots are kept in test-artifacts/.
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_ARGS, findChromium, launchChromium, type Chromium } from '../src/node/chromium.js';
import { classifyPixels, loadModel, pixelsToInput, type Model } from '../src/core/index.js';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { hiddenActivations, integratedGradients, saliency } from '../src/explain/index.js';
import { runVerify } from '../src/verify/verify.js';
import type { Page } from 'playwright-core';
import { ROOT, runCli } from './helpers/cli.js';
import { tempDir, writeRandomModel } from './helpers/random-model.js';
import { digitAt, LOOKS, loadT10k, renderDigit, requireTestModel, rng, TEST_MODEL } from './helpers/render.js';
import { serveSite, type Served } from './helpers/serve.js';
import { traceStrokes } from './helpers/strokes.js';
import { nonDigitPng } from './helpers/non-digits.js';
import { MNIST_MIN_CONFIDENCE, withMinConfidence } from '../src/eval/confidence.js';

/** Page and predict must agree on any model; "a line reads 1" needs a trained one (checked last). */
const TRAINED = fs.existsSync(TEST_MODEL);
const ARTIFACTS = path.join(ROOT, 'test-artifacts');
/** t10k digits traced as strokes (index, label): a 7 drawn from its tips, and a 2 with its curl. */
const TRACED = [0, 1];
/** t10k digit 4 is a 4. */
const FOUR = 4;

const CORE_WASM = path.join(ROOT, 'dist/core-wasm/index.js');
const dir = tempDir('digitkit-web-e2e-');
const site = path.join(dir, 'site');
let modelFile: string;
let fixturesFile: string;
let model: Model;
let served: Served;
let chromium: Chromium;
let page: Page;
const seen = { errors: [] as string[], requests: [] as string[], bodies: new Map<string, Buffer>() };

interface PageState {
  ready: boolean;
  engine: 'wasm' | 'core' | null;
  found: boolean;
  pixels: number[];
  prediction: { label: string; index: number; probability: number; probs: number[] } | null;
  minConfidence: number;
  unsure: boolean;
  overlay: { class: number; method: string; max: number; attribution: number[] } | null;
  hidden: number[][] | null;
  source: string;
  updates: number;
  announcements: number;
  selfTest: {
    status: string;
    cases?: number;
    passed?: number;
    maxDiff?: number;
    tolerance?: number;
    ms?: number;
    sameModel?: boolean | null;
  };
  error: string | null;
}
const state = (p = page) => p.evaluate(() => (window as unknown as { digitkit: PageState }).digitkit);

/** A page on `url` with its errors collected, once the model is loaded and the self-test has run. */
async function open(url: string, errors: string[] = []): Promise<Page> {
  const p = await chromium.newPage();
  p.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') errors.push(`console.${m.type()}: ${m.text()}`);
  });
  p.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  p.on('requestfailed', (r) => errors.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  await p.goto(url);
  await p.waitForFunction(() => {
    const d = (window as unknown as { digitkit?: PageState }).digitkit;
    return d?.error || (d?.ready && d.selfTest.status !== 'pending');
  });
  return p;
}

beforeAll(async () => {
  modelFile = TRAINED ? TEST_MODEL : writeRandomModel(dir, 'random.json', { seed: 31 });
  model = loadModel(fs.readFileSync(modelFile, 'utf8'));
  // The shipped model's fixtures ship beside it; any other model gets fixtures made for it here.
  fixturesFile = path.join(ROOT, 'fixtures/parity.json');
  if (path.resolve(modelFile) !== path.join(ROOT, 'models/mnist-int8.json')) {
    fixturesFile = path.join(dir, 'fixtures.json');
    const f = await runCli(['fixtures', '--model', modelFile, '--out', fixturesFile, '--data', embeddedMnistDir()]);
    expect(f.code, f.stderr).toBe(0);
  }
  served = await serveSite([site, '--model', modelFile, '--fixtures', fixturesFile, '--serve', '--port', '0']);
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  chromium = await launchChromium(findChromium());
  page = await chromium.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') seen.errors.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => seen.errors.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => seen.errors.push(`request failed: ${r.url()} (${r.failure()?.errorText})`));
  page.on('request', (r) => seen.requests.push(r.url()));
  page.on('response', async (r) => {
    const name = new URL(r.url()).pathname;
    if (name.endsWith('.js')) seen.bodies.set(name, await r.body());
  });
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.goto(served.url);
  await page.waitForFunction(() => {
    const d = (window as unknown as { digitkit?: PageState }).digitkit;
    return d?.error || (d?.ready && d.selfTest.status !== 'pending');
  });
});

afterAll(async () => {
  await chromium?.close();
  const stopped = await served?.stop();
  expect(stopped?.code).toBe(130); // stopped by Ctrl-C (SIGINT): 130, as for every command
});

type Point = [number, number];

/** Strokes (pad fractions 0..1) drawn with the mouse, after clearing the pad. */
async function drawStrokes(strokes: Point[][], steps = 1, p = page) {
  await p.click('#clear');
  const box = (await p.locator('#pad').boundingBox())!;
  const at = ([x, y]: Point): Point => [box.x + x * box.width, box.y + y * box.height];
  for (const s of strokes) {
    await p.mouse.move(...at(s[0]));
    await p.mouse.down();
    for (const q of s.slice(1)) await p.mouse.move(...at(q), { steps });
    await p.mouse.up();
  }
}

/** Clear the pad, draw `strokes` with the mouse, and collect what the page shows. */
async function draw(name: string, strokes: Point[][], steps = 1) {
  await drawStrokes(strokes, steps);
  return collect(name);
}

/** A t10k digit as the strokes a person would trace, in pad fractions. */
async function traced(i: number): Promise<Point[][]> {
  const t10k = await loadT10k();
  return traceStrokes(digitAt(t10k, i).pixels).map((s) => s.map(([x, y]): Point => [x / 28, y / 28]));
}

/** What the page shows now, and what `digitkit predict` says about the canvas exported as PNG. */
async function collect(name: string) {
  const shown = { digit: await page.locator('#digit').textContent(), state: await state() };
  const dataUrl = await page.locator('#pad').evaluate((c: HTMLCanvasElement) => c.toDataURL('image/png'));
  const png = path.join(dir, `${name}.png`);
  fs.writeFileSync(png, Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64'));
  await page.screenshot({ path: path.join(ARTIFACTS, `web-${name}.png`) });
  return { shown, ...(await predict(png, name)) };
}

/** `digitkit predict` on a file: its row and the 28x28 input it saved. */
async function predict(file: string, name: string) {
  const saveDir = path.join(dir, `${name}-28x28`);
  const r = await runCli([
    'predict',
    file,
    '--model',
    modelFile,
    '--top',
    '10',
    '--json',
    '--save-preprocessed',
    saveDir,
  ]);
  expect(r.code, r.stderr).toBe(0);
  const [row] = JSON.parse(r.stdout) as {
    digit: number;
    probability: number;
    top: { digit: number; p: number }[];
    preprocessed: string;
  }[];
  const saved = await sharp(row.preprocessed).extractChannel(0).raw().toBuffer();
  return { row, saved };
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

/** The overlay canvas's red (raising) and blue (lowering) alpha mass, and how much of each lies inside `box` (pad pixels). */
function overlayMass(box: { x0: number; x1: number; y0: number; y1: number }, p = page) {
  return p.evaluate((b) => {
    const c = document.getElementById('overlay') as HTMLCanvasElement;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    const m = { red: 0, redInside: 0, blue: 0, blueInside: 0 };
    for (let y = 0, i = 0; y < c.height; y++)
      for (let x = 0; x < c.width; x++, i += 4) {
        const a = d[i + 3];
        if (!a) continue;
        const inside = x >= b.x0 && x <= b.x1 && y >= b.y0 && y <= b.y1;
        if (d[i] > d[i + 2]) ((m.red += a), inside && (m.redInside += a));
        else ((m.blue += a), inside && (m.blueInside += a));
      }
    return m;
  }, box);
}

/** The strokes' bounding box on the 280x280 pad, widened by the pen's radius (7% of the pad / 2) and a pixel. */
function strokeBox(strokes: Point[][]) {
  const xs = strokes.flat().map((p) => p[0] * 280),
    ys = strokes.flat().map((p) => p[1] * 280),
    r = 280 * 0.035 + 1;
  return { x0: Math.min(...xs) - r, x1: Math.max(...xs) + r, y0: Math.min(...ys) - r, y1: Math.max(...ys) + r };
}

const results = new Map<string, string | null>();

describe(`the page from \`digitkit web --serve\` in ${process.env.DIGITKIT_CHROMIUM ?? 'the system Chromium'}`, () => {
  it('loads core-wasm (Chromium has wasm SIMD: not the core) and explain as shipped (the same bytes as dist/), the model and its fixtures from 127.0.0.1 only, with no console error', async () => {
    const s = await state();
    expect(s.error).toBeNull();
    expect(s.ready).toBe(true);
    expect(s.found).toBe(false);
    expect(s.engine).toBe('wasm');
    expect(await page.locator('#status').textContent()).toMatch(/, run by WebAssembly SIMD$/);
    expect(await page.locator('#bars li').count()).toBe(model.labels.length);
    expect(seen.bodies.get('/digitkit-core-wasm.js')).toEqual(
      fs.readFileSync(path.join(ROOT, 'dist/core-wasm/index.js')),
    );
    expect(seen.bodies.get('/digitkit-explain.js')).toEqual(fs.readFileSync(path.join(ROOT, 'dist/explain/index.js')));
    expect(seen.requests.map((u) => new URL(u).pathname).sort()).toEqual([
      '/',
      '/app.js',
      '/digitkit-core-wasm.js',
      '/digitkit-explain.js',
      '/engine.js',
      '/fixtures.json',
      '/model.json',
      '/style.css',
    ]);
    expect(seen.requests.filter((u) => !u.startsWith(served.url))).toEqual([]);
    expect(seen.errors).toEqual([]);
  });

  it('the empty state is words, not an empty picture: no digit, a prompt, the 28x28 and hidden layers replaced by a sentence', async () => {
    expect(await page.locator('#digit').textContent()).toBe('');
    expect(await page.locator('#confidence').textContent()).toBe('Draw a digit on the pad, or drop an image on it.');
    expect(await page.locator('#empty').isVisible()).toBe(true);
    expect(await page.locator('#input').isVisible()).toBe(false);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-empty-desktop.png') });
  });

  it('the self-test ran the fixtures through the same module (core-wasm) in Chromium: parity verified, every case, as `digitkit verify` finds', async () => {
    const s = (await state()).selfTest;
    const fixtures = JSON.parse(fs.readFileSync(fixturesFile, 'utf8'));
    expect(s.status).toBe('ok');
    expect(s.cases).toBe(fixtures.cases.length);
    expect(s.passed).toBe(s.cases);
    expect(s.sameModel).toBe(true);
    expect(s.maxDiff).toBeLessThanOrEqual(1e-6);
    // The same kernel computes the same bits in Chromium as in Node.
    const node = await runVerify({ model: modelFile, fixtures: fixturesFile, core: CORE_WASM });
    expect(s.maxDiff).toBe(node.max!.diff);
    const text = await page.locator('#selftest').textContent();
    expect(text).toMatch(
      new RegExp(
        `^Parity verified in this browser: max \\|Δp\\| ${s.maxDiff!.toExponential(2).replace('+', '\\+')}, ${s.cases}/${s.cases} cases within 1e-6 \\(\\d+ ms\\)$`,
      ),
    );
    console.log(`web: self-test in Chromium: ${text}`);
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
    for (const i of TRACED) {
      const r = await draw(`t10k-${i}`, await traced(i));
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

  it('draw a 4: the overlay (integrated gradients for the top class) puts its positive mass on the stroke; it is the numbers digitkit/explain computes', async () => {
    const strokes = await traced(FOUR);
    const r = await draw('four', strokes);
    expectSameAsPredict(r);
    results.set('four', r.shown.digit);
    const s = r.shown.state;
    expect(s.overlay!.class).toBe(s.prediction!.index);
    expect(s.overlay!.method).toBe('ig');
    const x = pixelsToInput(model, s.pixels);
    expect(s.overlay!.attribution).toEqual(Array.from(integratedGradients(model, x, s.overlay!.class)));
    expect(s.hidden).toEqual(hiddenActivations(model, x).map((h) => Array.from(h)));
    const box = strokeBox(strokes);
    const m = await overlayMass(box);
    expect(m.red).toBeGreaterThan(0);
    console.log(
      `web: drawn 4 read as ${s.prediction!.label}; overlay's positive mass inside the stroke's bounding box: ${((100 * m.redInside) / m.red).toFixed(1)}%`,
    );
    expect(m.redInside / m.red).toBeGreaterThan(0.9);
    // The hidden layers are drawn as grids, one per layer.
    expect(await page.locator('#hidden canvas').count()).toBe(model.layers.length - 1);
    expect(await page.locator('#input').isVisible()).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-desktop.png') });
  });

  it('the overlay toggles: another class, the gradient (saliency, spread beyond the ink), and off', async () => {
    const strokes = await traced(FOUR);
    const box = strokeBox(strokes);
    const before = await overlayMass(box);
    const top = (await state()).prediction!.index;
    const other = top === 9 ? 4 : 9;
    await page.selectOption('#overlay-class', String(other));
    let s = await state();
    const x = pixelsToInput(model, s.pixels);
    expect(s.overlay!.class).toBe(other);
    expect(s.overlay!.attribution).toEqual(Array.from(integratedGradients(model, x, other)));
    expect(await overlayMass(box)).not.toEqual(before);
    await page.selectOption('#overlay-method', 'saliency');
    s = await state();
    expect(s.overlay!.method).toBe('saliency');
    expect(s.overlay!.attribution).toEqual(Array.from(saliency(model, x, other)));
    const spread = await overlayMass(box);
    expect(spread.red - spread.redInside + spread.blue - spread.blueInside).toBeGreaterThan(0); // colour off the ink
    await page.uncheck('#show-overlay');
    expect((await state()).overlay).toBeNull();
    expect(await overlayMass(box)).toEqual({ red: 0, redInside: 0, blue: 0, blueInside: 0 });
    await page.check('#show-overlay');
    await page.selectOption('#overlay-class', 'top');
    await page.selectOption('#overlay-method', 'ig');
    expect((await state()).overlay!.class).toBe(top);
  });

  it('the live region speaks once per stroke (not every frame), and Escape clears', async () => {
    const strokes: Point[][] = [
      [
        [0.5, 0.2],
        [0.5, 0.8],
      ],
      [
        [0.3, 0.5],
        [0.7, 0.5],
      ],
    ];
    const before = await state();
    await drawStrokes(strokes, 10); // clicks Clear first: one announcement
    const after = await state();
    expect(after.announcements - before.announcements).toBe(1 + strokes.length);
    expect(after.updates - before.updates).toBeGreaterThan(strokes.length + 1);
    await page.waitForFunction(() => document.getElementById('announce')!.textContent !== '');
    expect(await page.locator('#announce').textContent()).toBe(
      `${after.unsure ? 'Not sure: best guess' : 'Prediction:'} ${after.prediction!.label}, ${(after.prediction!.probability * 100).toFixed(0)} percent.`,
    );
    await page.locator('#pad').focus();
    await page.keyboard.press('Escape');
    const cleared = await state();
    expect(cleared.found).toBe(false);
    expect(cleared.prediction).toBeNull();
    expect(cleared.announcements).toBe(after.announcements + 1);
    await page.waitForFunction(() => document.getElementById('announce')!.textContent === 'The pad is empty.');
    expect(await page.locator('#empty').isVisible()).toBe(true);
  });

  it('an image file dropped on the pad is classified as `digitkit predict` classifies it; the overlay lands on its ink', async () => {
    const t10k = await loadT10k();
    const { bytes } = await renderDigit(digitAt(t10k, 8).pixels, LOOKS['canvas 200x200'], rng(8));
    const file = path.join(dir, 'dropped.png');
    fs.writeFileSync(file, bytes);
    await page.evaluate(
      ({ b64, name }) => {
        const data = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([data], name, { type: 'image/png' }));
        document
          .getElementById('pad')!
          .dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
      },
      { b64: bytes.toString('base64'), name: 'dropped.png' },
    );
    await page.waitForFunction(() => (window as unknown as { digitkit: PageState }).digitkit.source === 'dropped.png');
    const shown = { digit: await page.locator('#digit').textContent(), state: await state() };
    expectSameAsPredict({ shown, ...(await predict(file, 'dropped')) });
    // The picture is shown fitted on the pad (200x200 -> 280x280): its ink's box there.
    const { data, info } = await sharp(bytes).greyscale().raw().toBuffer({ resolveWithObject: true });
    const k = 280 / info.width;
    let [x0, x1, y0, y1] = [Infinity, -1, Infinity, -1];
    data.forEach((v, i) => {
      if (v < 215) {
        const [x, y] = [i % info.width, Math.floor(i / info.width)];
        [x0, x1, y0, y1] = [Math.min(x0, x), Math.max(x1, x), Math.min(y0, y), Math.max(y1, y)];
      }
    });
    const m = await overlayMass({ x0: x0 * k - 1, x1: (x1 + 1) * k + 1, y0: y0 * k - 1, y1: (y1 + 1) * k + 1 });
    expect(m.redInside / m.red).toBeGreaterThan(0.9);
    await page.screenshot({ path: path.join(ARTIFACTS, 'web-dropped.png') });
    // Drawing again starts a new digit on a blank pad.
    await drawStrokes([
      [
        [0.5, 0.2],
        [0.5, 0.8],
      ],
    ]);
    expect((await state()).source).toBe('pad');
  });

  it('the "Open an image" button takes a JPEG photo, and a file that is not an image is refused in words', async () => {
    const t10k = await loadT10k();
    const { bytes } = await renderDigit(digitAt(t10k, 3).pixels, LOOKS['jpeg photo'], rng(3));
    const file = path.join(dir, 'photo.jpg');
    fs.writeFileSync(file, bytes);
    await page.setInputFiles('#file', file);
    await page.waitForFunction(() => (window as unknown as { digitkit: PageState }).digitkit.source === 'photo.jpg');
    const s = await state();
    const { row, saved } = await predict(file, 'photo');
    // Browsers and libjpeg builds may round the IDCT differently: the same digit, the 28x28 within a few levels.
    expect(s.prediction!.label).toBe(String(row.digit));
    const worst = Math.max(...s.pixels.map((v, i) => Math.abs(v - saved[i])));
    console.log(`web: a JPEG opened in the page vs predict: the 28x28 input differs by at most ${worst} levels`);
    expect(worst).toBeLessThanOrEqual(8);
    const text = path.join(dir, 'notes.png');
    fs.writeFileSync(text, 'not an image');
    await page.setInputFiles('#file', text);
    await page.waitForFunction(() => document.getElementById('status')!.className === 'error');
    expect(await page.locator('#status').textContent()).toBe('notes.png: not an image this browser can decode');
    expect((await state()).source).toBe('photo.jpg');
  });

  it(`a picture that is not a digit (a dot) shows the "not sure" state below the default threshold (${MNIST_MIN_CONFIDENCE}, chosen on validation), as predict --min-confidence says; a real digit does not`, async () => {
    const dot = path.join(dir, 'dot.png');
    fs.writeFileSync(dot, await nonDigitPng('dot'));
    await page.setInputFiles('#file', dot);
    await page.waitForFunction(() => (window as unknown as { digitkit: PageState }).digitkit.source === 'dot.png');
    const s = await state();
    // The shipped model carries no meta.minConfidence: the page's default applies.
    expect(JSON.parse(fs.readFileSync(modelFile, 'utf8')).meta?.minConfidence).toBeUndefined();
    expect(s.minConfidence).toBe(MNIST_MIN_CONFIDENCE);
    const r = await runCli([
      'predict',
      dot,
      '--model',
      modelFile,
      '--min-confidence',
      String(MNIST_MIN_CONFIDENCE),
      '--json',
    ]);
    const [row] = JSON.parse(r.stdout) as { unsure: boolean; probability: number }[];
    expect(s.unsure).toBe(row.unsure);
    if (TRAINED) expect(s.unsure).toBe(true);
    if (s.unsure) {
      const text = await page.locator('#confidence').textContent();
      expect(text).toBe(
        `not sure: best guess ${s.prediction!.label}, ${(s.prediction!.probability * 100).toFixed(1)}% (below ${Number((MNIST_MIN_CONFIDENCE * 100).toFixed(1))}%)`,
      );
      // Visible: the guess is greyed and the words are shown.
      expect(await page.locator('.guess').getAttribute('class')).toContain('unsure');
      expect(await page.locator('#digit').evaluate((e) => getComputedStyle(e).color)).toBe('rgb(153, 153, 153)');
      expect(await page.locator('#confidence').isVisible()).toBe(true);
      await page.screenshot({ path: path.join(ARTIFACTS, 'web-not-sure.png') });
    }
    if (!TRAINED) return;
    const t10k = await loadT10k();
    const { bytes } = await renderDigit(digitAt(t10k, 0).pixels, LOOKS['canvas 200x200'], rng(1));
    const seven = path.join(dir, 'seven.png');
    fs.writeFileSync(seven, bytes);
    await page.setInputFiles('#file', seven);
    await page.waitForFunction(() => (window as unknown as { digitkit: PageState }).digitkit.source === 'seven.png');
    const sure = await state();
    expect(sure.unsure).toBe(false);
    expect(sure.prediction!.label).toBe('7');
    expect(await page.locator('#confidence').textContent()).toMatch(/^\d+\.\d%$/);
    expect(await page.locator('.guess').getAttribute('class')).not.toContain('unsure');
  });

  it('on a phone (375x667) the prediction stays in view above the pad while drawing, nothing scrolls sideways', async () => {
    await page.setViewportSize({ width: 375, height: 667 });
    try {
      await page.click('#clear');
      await page.screenshot({ path: path.join(ARTIFACTS, 'web-empty-phone.png') });
      await drawStrokes(await traced(FOUR));
      const digit = (await page.locator('#digit').boundingBox())!;
      const pad = (await page.locator('#pad').boundingBox())!;
      expect(digit.y).toBeGreaterThanOrEqual(0);
      expect(digit.y + digit.height).toBeLessThanOrEqual(pad.y);
      expect(pad.y + pad.height).toBeLessThanOrEqual(667);
      expect(pad.x).toBeGreaterThanOrEqual(0);
      expect(pad.x + pad.width).toBeLessThanOrEqual(375);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
      expect(await page.locator('#digit').textContent()).toBe((await state()).prediction!.label);
      await page.screenshot({ path: path.join(ARTIFACTS, 'web-phone.png') });
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  });

  it('made no request outside 127.0.0.1 and logged no error while drawing', () => {
    expect(seen.requests.filter((u) => !u.startsWith(served.url))).toEqual([]);
    expect(seen.errors).toEqual([]);
  });

  it('with a trained model: the line reads 1, the loop 0, each traced digit its label, the drawn 4 a 4', async () => {
    requireTestModel();
    const t10k = await loadT10k();
    expect(Object.fromEntries(results)).toEqual({
      line: '1',
      loop: '0',
      ...Object.fromEntries(TRACED.map((i) => [`t10k-${i}`, String(digitAt(t10k, i).label)])),
      four: '4',
    });
  });
});

describe('the page in a browser without WebAssembly (Chromium with --js-flags=--jitless)', () => {
  it('loads the portable core instead of core-wasm, and classifies and self-tests with the core’s results', async () => {
    const { chromium: pw } = await import('playwright-core');
    const browser = await pw.launch({
      executablePath: findChromium(),
      args: [...CHROMIUM_ARGS, '--js-flags=--jitless'],
    });
    try {
      const p = await browser.newPage();
      const requests: string[] = [];
      p.on('request', (r) => requests.push(new URL(r.url()).pathname));
      const errors: string[] = [];
      p.on('pageerror', (e) => errors.push(e.message));
      await p.goto(served.url);
      await p.waitForFunction(() => {
        const d = (window as unknown as { digitkit?: PageState }).digitkit;
        return d?.error || (d?.ready && d.selfTest.status !== 'pending');
      });
      expect(await p.evaluate(() => typeof WebAssembly)).toBe('undefined');
      const s = await state(p);
      expect(s.error).toBeNull();
      expect(s.engine).toBe('core');
      expect(await p.locator('#status').textContent()).toMatch(/, run by the portable core$/);
      expect(requests).toContain('/digitkit-core.js');
      expect(requests).not.toContain('/digitkit-core-wasm.js');
      expect(s.selfTest.status).toBe('ok');
      const node = await runVerify({ model: modelFile, fixtures: fixturesFile });
      expect(s.selfTest.maxDiff).toBe(node.max!.diff);
      // A drawing: the core's probabilities for the page's own 28x28 input (Chromium's Math.exp may
      // differ from Node's in the last bit).
      await drawStrokes(
        [
          [
            [0.5, 0.15],
            [0.5, 0.85],
          ],
        ],
        1,
        p,
      );
      const drawn = await state(p);
      expect(drawn.found).toBe(true);
      const expected = classifyPixels(model, drawn.pixels);
      expect(drawn.prediction!.index).toBe(expected.index);
      drawn.prediction!.probs.forEach((q, j) => expect(Math.abs(q - expected.probs[j])).toBeLessThanOrEqual(1e-12));
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

describe("the page's threshold from the model's meta.minConfidence", () => {
  it('a model carrying meta.minConfidence 0.999: a clear drawn 1 is still "not sure"; the model\'s own threshold, not the default', async () => {
    const sure = path.join(dir, 'sure.json');
    fs.writeFileSync(sure, withMinConfidence(fs.readFileSync(modelFile), 0.999));
    const other = await serveSite([path.join(dir, 'site-sure'), '--model', sure, '--serve', '--port', '0']);
    try {
      const p = await open(other.url);
      const s0 = await state(p);
      expect(s0.error).toBeNull();
      expect(s0.minConfidence).toBe(0.999);
      await drawStrokes(
        [
          [
            [0.5, 0.15],
            [0.5, 0.85],
          ],
        ],
        1,
        p,
      );
      const s = await state(p);
      expect(s.found).toBe(true);
      expect(s.prediction!.probability).toBeLessThan(0.999);
      expect(s.unsure).toBe(true);
      expect(await p.locator('#confidence').textContent()).toMatch(
        /^not sure: best guess \S+, \d+\.\d% \(below 99\.9%\)$/,
      );
      await p.close();
    } finally {
      await other.stop();
    }
  });
});

describe('the self-test on a tampered site, served by `digitkit web --serve`', () => {
  it('a model.json changed after the site was written shows PARITY FAILED in the page (and the hash mismatch); no fixtures.json says so', async () => {
    const other = path.join(dir, 'tampered');
    const s = await serveSite([other, '--model', modelFile, '--fixtures', fixturesFile, '--serve', '--port', '0']);
    try {
      // One bias of the output layer moved by 0.5: every case's probabilities change.
      const doc = JSON.parse(fs.readFileSync(path.join(other, 'model.json'), 'utf8'));
      doc.layers[doc.layers.length - 1].b[0] += 0.5;
      fs.writeFileSync(path.join(other, 'model.json'), JSON.stringify(doc));
      const errors: string[] = [];
      const p = await open(s.url, errors);
      const st = (await state(p)).selfTest;
      expect(st.status).toBe('failed');
      expect(st.sameModel).toBe(false);
      expect(st.passed).toBeLessThan(st.cases!);
      expect(st.maxDiff).toBeGreaterThan(1e-3);
      const text = await p.locator('#selftest').textContent();
      expect(text).toMatch(
        /^Parity FAILED in this browser: max \|Δp\| \S+ \(case \S+, class \S+\), \d+\/\d+ cases within 1e-6; model\.json is not the model the fixtures were made for \(sha256 [0-9a-f]{12}…, expected [0-9a-f]{12}…\)$/,
      );
      expect(await p.locator('#selftest').evaluate((e) => getComputedStyle(e).color)).toBe('rgb(176, 0, 32)');
      await p.screenshot({ path: path.join(ARTIFACTS, 'web-tampered.png') });
      await p.close();
      // No fixtures beside the model: the page says there is no self-test, in words.
      fs.rmSync(path.join(other, 'fixtures.json'));
      const q = await open(s.url, errors);
      expect((await state(q)).selfTest.status).toBe('none');
      expect(await q.locator('#selftest').textContent()).toMatch(/^Self-test: no fixtures\.json beside the model/);
      await q.close();
      expect(errors.filter((e) => !/status of 404/.test(e))).toEqual([]);
    } finally {
      expect((await s.stop()).code).toBe(130); // Ctrl-C: 130
    }
  });
});
