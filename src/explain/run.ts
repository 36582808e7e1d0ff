/**
 * `digitkit explain` as a library: image files -> the same decoding and preprocessing as `predict`
 * -> the shipped core's probabilities -> digitkit/explain's attribution and hidden activations ->
 * one PNG panel per image (panel.ts) and the numbers. A bad image is a per-file error (exit 5 for
 * the run), never a reason to stop the others.
 */
import path from 'node:path';
import { classifyPixels, pixelsToInput, preprocess, type Model } from '../core/index.js';
import { DigitkitError, ExitCode, InterruptedError, invalidInput, OptionError, usageError } from '../errors.js';
import { pct } from '../format.js';
import { checkOutput, writeFileAtomic, WriteError } from '../node/atomic.js';
import { decodeImage, imageRejected } from '../node/image.js';
import { describeInput, readModelFile } from '../node/model-file.js';
import { DEFAULT_EXPLAIN_DIR, defaultModel } from '../node/paths.js';
import type { InvertMode } from '../predict/classify.js';
import { expandInputs, readInput } from '../predict/jobs.js';
import { hiddenActivations, integratedGradients, saliency } from './index.js';
import { fitPicture, METHOD_TEXT, renderImagePanel, type Method } from './panel.js';

export const METHODS: readonly Method[] = ['saliency', 'ig'];

export interface ExplainOptions {
  /** Image files, directories (every image in them) or `-` (one image from `readStdin`). */
  inputs: string[];
  /** Default: models/mnist-int8.json, or the copy digitkit ships when the working directory has none. */
  model?: string;
  /** The class to explain: one of the model's labels, or an index into them. Default: the top class(es). */
  class?: string;
  /** Explain the `top` most probable classes (default 1); not with `class`. */
  top?: number;
  method?: Method;
  /** Directory for the panels (`<name>.explain.png`); default `explained`. */
  out?: string;
  invert?: InvertMode;
  readStdin?: () => Promise<Buffer>;
  signal?: AbortSignal;
}

/** One image explained for one class. */
export interface Explanation {
  file: string;
  /** Index of the class explained (into the model's labels). */
  class: number;
  label: string;
  probability: number;
  /** base64 of the model's input pixels (as in fixtures). */
  pixels: string;
  method: Method;
  /** One number per model input: d logit[class] / d x (saliency), or its contribution to logit(x) - logit(0) (ig: they sum to it). */
  attribution: number[];
  /** The panel written for this image. */
  panel: string;
}

export interface ExplainRejected {
  file: string;
  error: string;
}

export interface ExplainReport {
  model: string;
  method: Method;
  out: string;
  /** In input order; one Explanation per class explained (two per image with top 2). */
  results: (Explanation | ExplainRejected)[];
  /** Images that could not be explained (exit 5 when > 0). */
  rejected: number;
}

const INVERT: Record<InvertMode, boolean | undefined> = { auto: undefined, yes: true, no: false };

/** The class `spec` names: a label of the model, else an index into its labels; anything else is exit 2. */
export function resolveClass(spec: string, labels: string[], modelPath: string): number {
  const byLabel = labels.indexOf(spec);
  if (byLabel >= 0) return byLabel;
  if (/^\d+$/.test(spec) && Number(spec) < labels.length) return Number(spec);
  const shown = labels.length <= 12 ? labels.join(', ') : `${labels.slice(0, 10).join(', ')}, …`;
  throw new OptionError(
    'class',
    `${spec}: ${modelPath} has ${labels.length} classes; give one of its labels (${shown}) or an index 0-${labels.length - 1}`,
  );
}

/** Panel file names in `dir`, one per input, unique within the run (a/1.png and b/1.png both get one). */
function panelNames(files: string[], dir: string): string[] {
  const taken = new Set<string>();
  return files.map((f) => {
    const base = f === '-' ? 'stdin' : path.basename(f, path.extname(f));
    let name = `${base}.explain.png`;
    for (let k = 2; taken.has(name); k++) name = `${base}-${k}.explain.png`;
    taken.add(name);
    return path.join(dir, name);
  });
}

export async function runExplain(opts: ExplainOptions): Promise<ExplainReport> {
  const method = opts.method ?? 'saliency';
  if (!METHODS.includes(method)) throw new OptionError('method', `${method}: expected one of ${METHODS.join(', ')}`);
  if (opts.class !== undefined && opts.top !== undefined) throw usageError('give --class or --top, not both');
  if (opts.top !== undefined && !(Number.isInteger(opts.top) && opts.top >= 1))
    throw new OptionError('top', `${opts.top}: expected an integer >= 1 (more than the model's classes means all)`);
  const modelPath = defaultModel(opts.model);
  const file = await readModelFile(modelPath);
  const model = file.model;
  const input = model.input;
  if (input.kind === 'vector')
    throw usageError(
      `${modelPath} is a vector model: explaining one takes feature values (CSV rows), which this command does not read yet; use renderVectorPanel and the digitkit/explain functions from the library`,
    );
  // The same images as predict takes (its preprocessing makes 28x28 digits).
  if (input.preprocess !== 'digit' || input.size !== 784)
    throw invalidInput(`${modelPath}: input is ${describeInput(input)}, explain needs a 28x28 digit model`);
  const labels = model.labels;
  const fixed = opts.class === undefined ? undefined : resolveClass(opts.class, labels, modelPath);
  const top = Math.min(opts.top ?? 1, labels.length);
  const out = opts.out ?? DEFAULT_EXPLAIN_DIR;
  await checkOutput(out, 'dir').catch((err: unknown) => {
    throw err instanceof WriteError ? new OptionError('out', `${out}: cannot write: ${err.why}`) : err;
  });

  const jobs = await expandInputs(opts.inputs);
  const names = panelNames(
    jobs.map((j) => j.file),
    out,
  );
  const results: ExplainReport['results'] = [];
  let rejected = 0;
  for (const [k, job] of jobs.entries()) {
    if (opts.signal?.aborted) throw new InterruptedError();
    try {
      if (job.error) throw imageRejected(job.file, job.error);
      results.push(
        ...(await explainOne(await readInput(job, opts.readStdin), job.file, model, {
          method,
          classes: fixed,
          top,
          invert: opts.invert ?? 'auto',
          panel: names[k],
          modelName: path.basename(modelPath),
        })),
      );
    } catch (err) {
      if (!(err instanceof DigitkitError) || err.code !== ExitCode.imageRejected) throw err;
      rejected++;
      const error = err.message.startsWith(`${job.file}: `) ? err.message.slice(job.file.length + 2) : err.message;
      results.push({ file: job.file, error });
    }
  }
  return { model: modelPath, method, out, results, rejected };
}

interface OneSettings {
  method: Method;
  classes?: number;
  top: number;
  invert: InvertMode;
  panel: string;
  modelName: string;
}

async function explainOne(bytes: Buffer, name: string, model: Model, s: OneSettings): Promise<Explanation[]> {
  const img = await decodeImage(bytes, name);
  const pre = preprocess(img.gray, img.width, img.height, INVERT[s.invert]);
  if (!pre.found) throw imageRejected(name, 'no digit found (no ink stands out from the background)');
  const c = classifyPixels(model, pre.pixels);
  const x = pixelsToInput(model, pre.pixels);
  const ranked = Array.from(c.probs.keys()).sort((a, b) => c.probs[b] - c.probs[a] || a - b);
  const classes = s.classes === undefined ? ranked.slice(0, s.top) : [s.classes];
  const explain = s.method === 'ig' ? integratedGradients : saliency;
  const maps = classes.map((k) => ({
    index: k,
    label: model.labels[k],
    probability: c.probs[k],
    attribution: explain(model, x, k),
  }));
  const png = await renderImagePanel({
    title: name,
    subtitle: `${s.modelName} predicts ${c.label} (${pct(c.probability, 1)}) · ${METHOD_TEXT[s.method].name}${pre.inverted ? ' · read as dark ink on light' : ''}`,
    method: s.method,
    labels: model.labels,
    probs: c.probs,
    hidden: hiddenActivations(model, x),
    classes: maps,
    // sharp draws the picture; one it cannot read (the PNG fast path took it) is left out, not fatal.
    picture: await fitPicture(bytes).catch(() => null),
    pixels: pre.pixels,
    side: 28,
  });
  await writeFileAtomic(s.panel, png).catch((err: unknown) => {
    if (!(err instanceof WriteError)) throw err;
    throw new OptionError('out', `${path.dirname(s.panel)}: cannot write ${s.panel}: ${err.why}`);
  });
  const pixels = Buffer.from(pre.pixels.buffer, pre.pixels.byteOffset, pre.pixels.length).toString('base64');
  return maps.map((m) => ({
    file: name,
    class: m.index,
    label: m.label,
    probability: m.probability,
    pixels,
    method: s.method,
    attribution: Array.from(m.attribution),
    panel: s.panel,
  }));
}
