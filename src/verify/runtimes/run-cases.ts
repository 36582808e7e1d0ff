/**
 * Running fixture cases through an inference module, in any JavaScript runtime: Node (in process),
 * a browser page (which imports this file from the same local server as the module), Deno and Bun
 * (child.ts imports it). It imports nothing: it uses only its argument and the module's public API
 * (loadModel, decodeBase64, classifyPixels, classifyValues), and the model's `engine` when the module
 * names one (digitkit/core-wasm: "wasm" for its WebAssembly SIMD kernel, "core" where it fell back).
 */

export interface RunCasesArgs {
  /** URL the module is imported from: file:// in Node, Deno and Bun, http(s):// in a browser. */
  coreUrl: string;
  /** The model file's text, exactly as read. */
  modelText: string;
  /** Names the model in the module's error messages. */
  source: string;
  /** Each case's input, base64 as in the fixtures file: pixels, or (`values`) float64 feature values. */
  inputs: string[];
  /** The inputs are a vector model's feature values (float64 little-endian), not pixels. */
  values?: boolean;
}

/** Run cases through a module and return each case's probabilities (the module's errors propagate). */
export async function runCases(args: RunCasesArgs): Promise<number[][]> {
  return (await runModule(args)).probs;
}

/** `runCases`, and what ran the model when the module says (its model's `engine`). */
async function runModule(args: RunCasesArgs): Promise<{ probs: number[][]; engine?: string }> {
  const core = await import(args.coreUrl);
  const model = core.loadModel(args.modelText, args.source);
  const probs = args.inputs.map((s) => {
    const b: Uint8Array = core.decodeBase64(s);
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const c = args.values
      ? core.classifyValues(
          model,
          Array.from({ length: b.length / 8 }, (_, i) => dv.getFloat64(8 * i, true)),
        )
      : core.classifyPixels(model, b);
    return Array.from(c.probs as ArrayLike<number>);
  });
  return typeof model.engine === 'string' ? { probs, engine: model.engine } : { probs };
}

export interface JobResult {
  probs?: number[][];
  /** The model's `engine`, when the module names one. */
  engine?: string;
  /**
   * The module failed, as data (so it crosses a page or a pipe intact): at `import` (it does not
   * load in this runtime) or while it ran (`run`: a ModelError is the module refusing the model).
   */
  error?: { stage: 'import' | 'run'; name: string; message: string };
}

const failure = (stage: 'import' | 'run', e: unknown) => {
  const err = e as Error;
  return { error: { stage, name: String(err?.name ?? 'Error'), message: String(err?.message ?? err) } };
};

/** `runCases`, never throwing: a failure comes back as `error`, with the stage it happened at. */
export async function runJob(args: RunCasesArgs): Promise<JobResult> {
  try {
    await import(args.coreUrl);
  } catch (e) {
    return failure('import', e);
  }
  try {
    return await runModule(args);
  } catch (e) {
    return failure('run', e);
  }
}
