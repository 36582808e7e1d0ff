/**
 * Running fixture cases through an inference module, in any JavaScript runtime: Node (in process),
 * a browser page (handed over by Playwright or Puppeteer, which serialize the function's source),
 * Deno and Bun (child.ts). So `runJob` is self-contained: it uses nothing but its argument and the
 * module's public API (loadModel, decodeBase64, classifyPixels), and reports a failure as data
 * (name and message) so every host tells "the module refused the model" from "the module broke".
 */

export interface RunCasesArgs {
  /** URL the module is imported from: file:// in Node, Deno and Bun, http(s):// in a browser. */
  coreUrl: string;
  /** The model file's text, exactly as read. */
  modelText: string;
  /** Names the model in the module's error messages. */
  source: string;
  /** Each case's pixels, base64 (as in the fixtures file). */
  pixels: string[];
}

export interface JobResult {
  probs?: number[][];
  error?: { name: string; message: string };
}

/** Run the cases; never throws (a failure comes back as `error`). */
export async function runJob(args: RunCasesArgs): Promise<JobResult> {
  try {
    const core = await import(args.coreUrl);
    const model = core.loadModel(args.modelText, args.source);
    const probs = args.pixels.map((p) =>
      Array.from(core.classifyPixels(model, core.decodeBase64(p)).probs as ArrayLike<number>),
    );
    return { probs };
  } catch (e) {
    const err = e as Error;
    return { error: { name: String(err?.name ?? 'Error'), message: String(err?.message ?? err) } };
  }
}

/** Run the cases and return each case's probabilities; the module's error is rethrown as itself. */
export async function runCases(args: RunCasesArgs): Promise<number[][]> {
  const core = await import(args.coreUrl);
  const model = core.loadModel(args.modelText, args.source);
  return args.pixels.map((p) =>
    Array.from(core.classifyPixels(model, core.decodeBase64(p)).probs as ArrayLike<number>),
  );
}
