/**
 * One interface for every runtime `verify` runs the fixtures in (DESIGN.md: name, version,
 * run(fixtures) -> probabilities). An adapter finds its runtime without starting it (`find`: exit 4
 * naming how to install it when it is missing), then `open` starts it; `run` takes the module to load
 * (a file path: the shipped core, another build of it, or another module with the same API) and the
 * cases, and returns each case's probabilities. The runtime loads the module's bytes as they are on
 * disk, never a rebuilt copy. onnxruntime loads no module: it runs the model's ONNX export.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { RawModel } from '../../core/index.js';
import { DigitkitError, ExitCode, invalidInput } from '../../errors.js';
import type { JobResult } from './run-cases.js';

export const RUNTIME_NAMES = ['node', 'chromium', 'firefox', 'deno', 'bun', 'onnxruntime'] as const;
export type RuntimeName = (typeof RUNTIME_NAMES)[number];

export interface RuntimeJob {
  /** The module to load (JavaScript runtimes), a file path. */
  module: string;
  /** The model file's text, exactly as read. */
  modelText: string;
  /** The model as parsed (what onnxruntime exports). */
  raw: RawModel;
  /** Names the model in the module's messages. */
  source: string;
  /** Each case's input, base64 as in the fixtures file: pixels, or (`values`) float64 feature values. */
  inputs: string[];
  values?: boolean;
}

/** A runtime that could not run a job: the module threw (`errorName` is its error's name). */
export class RuntimeFailure extends Error {
  constructor(
    readonly errorName: string,
    message: string,
  ) {
    super(message);
    this.name = 'RuntimeFailure';
  }
}

/** What a runtime gives back for a job: each case's probabilities, and the module's engine if it names one. */
export interface RunOutput {
  probs: number[][];
  /** digitkit/core-wasm's model.engine: "wasm" (its WebAssembly SIMD kernel) or "core" (the fallback). */
  engine?: string;
}

/**
 * The probabilities of a job's result, or the error it stands for: a module that does not load in
 * this runtime, or that refuses the model, is unusable input (exit 3); any other failure of the
 * module is this runtime failing the check (RuntimeFailure, exit 1).
 */
export function outputOf(result: JobResult, module: string, runtime: string): RunOutput {
  const e = result.error;
  if (!e) return { probs: result.probs ?? [], ...(typeof result.engine === 'string' && { engine: result.engine }) };
  if (e.stage === 'import')
    throw invalidInput(
      runtime.startsWith('Node.js')
        ? `${module}: cannot load the core module (${e.message.split('\n')[0]})`
        : `${module}: the core module does not load in ${runtime} (${e.message.split('\n')[0]})`,
    );
  if (e.name === 'ModelError') throw invalidInput(e.message);
  throw new RuntimeFailure(e.name, `${e.name}: ${e.message}`);
}

export interface Runtime {
  readonly name: RuntimeName;
  /** How the runtime names itself: "Node.js 20.20.2", "Firefox 153.8.0", "onnxruntime 1.30.0". */
  readonly version: string;
  /** Whether `run` loads `job.module` (false: onnxruntime, which runs the ONNX export). */
  readonly loadsModule: boolean;
  /** Probabilities per case; throws RuntimeFailure when the module fails in this runtime. */
  run(job: RuntimeJob): Promise<RunOutput>;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** An executable asked for on the command line (--chromium). */
  executable?: string;
}

export interface RuntimeAdapter {
  name: RuntimeName;
  /** Fail now (exit 4, with how to install it) if the runtime is not installed. */
  find(opts: RuntimeOptions): void;
  open(opts: RuntimeOptions): Promise<Runtime>;
}

export const unavailable = (message: string) => new DigitkitError(ExitCode.unavailable, message);

export function isExecutableFile(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The executable an environment variable names (checked), or undefined when it is not set. A path
 * that was asked for is never replaced by another: not executable is exit 4 with `how`.
 */
export function fromEnv(variable: string, how: string): string | undefined {
  const file = process.env[variable];
  if (!file) return undefined;
  if (isExecutableFile(file)) return file;
  throw unavailable(`${file} (from ${variable}) is not an executable file: ${how}`);
}

/** The first executable called `name` on $PATH. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    if (isExecutableFile(file)) return file;
  }
  return undefined;
}

/**
 * A runtime binary shipped in an npm package's platform packages (deno: @deno/linux-x64-glibc/deno;
 * bun: @oven/bun-linux-x64/bin/bun), as npm installs them whether or not the wrapper package's install
 * script ran (the script moves or links it into the wrapper: `installed`, relative to the wrapper,
 * is used when it is a real binary, not the placeholder script the wrapper ships). Looked up from
 * digitkit's own install, then from the working directory's project. `binary(dir)` names the file in
 * a platform package's directory.
 */
export function npmBinary(pkg: string, binary: (platformDir: string) => string, installed: string): string | undefined {
  for (const base of [import.meta.url, path.join(process.cwd(), 'package.json')]) {
    const require = createRequire(base);
    let manifest: { optionalDependencies?: Record<string, string> };
    let wrapperDir: string;
    try {
      const file = require.resolve(`${pkg}/package.json`);
      wrapperDir = path.dirname(file);
      manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    // Platform packages resolve from the wrapper's own location (npm hoists them beside it).
    const fromWrapper = createRequire(path.join(wrapperDir, 'package.json'));
    for (const platform of Object.keys(manifest.optionalDependencies ?? {})) {
      try {
        const dir = path.dirname(fromWrapper.resolve(`${platform}/package.json`));
        const file = binary(dir);
        if (isExecutableFile(file)) return file;
      } catch {
        /* not this platform's package */
      }
    }
    const moved = path.join(wrapperDir, installed);
    if (isExecutableFile(moved) && fs.statSync(moved).size > 1 << 20) return moved;
  }
  return undefined;
}
