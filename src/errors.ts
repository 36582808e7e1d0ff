/**
 * The one exit-code table every command uses, and the error type that carries a code.
 * Library functions throw DigitkitError; the CLI maps `code` to the process exit status.
 */
export const ExitCode = {
  ok: 0,
  checkFailed: 1,
  usage: 2,
  invalidInput: 3,
  unavailable: 4,
  imageRejected: 5,
  /** A bug in digitkit: an error no code path expected (sysexits' EX_SOFTWARE). */
  internal: 70,
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class DigitkitError extends Error {
  readonly code: ExitCodeValue;
  /** Extra structured detail for --json output (e.g. per-mirror failures). */
  readonly detail?: unknown;
  /** A message that is a list (download's sources, the files to place by hand): printed a line each. */
  readonly lines?: readonly string[];
  constructor(code: ExitCodeValue, message: string | readonly string[], detail?: unknown) {
    super(typeof message === 'string' ? message : message.join('\n'));
    this.name = 'DigitkitError';
    this.code = code;
    this.detail = detail;
    if (typeof message !== 'string') this.lines = message;
  }
}

export const usageError = (message: string) => new DigitkitError(ExitCode.usage, message);

/**
 * A bad option value (exit 2), found by the library function that owns the rule. `option` is its
 * name in that function's options (camelCase, e.g. labelSmoothing) and the message describes the
 * value: "labelSmoothing 1: expected a number in [0, 1)". The CLI names the flag instead
 * (--label-smoothing): each flag is its option's name in kebab case.
 */
export class OptionError extends DigitkitError {
  constructor(
    readonly option: string,
    readonly problem: string,
  ) {
    super(ExitCode.usage, `${option} ${problem}`);
    this.name = 'OptionError';
  }
}

/** The command-line flag of a library option: labelSmoothing → --label-smoothing. */
export const flagOf = (option: string) => '--' + option.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
export const invalidInput = (message: string, detail?: unknown) =>
  new DigitkitError(ExitCode.invalidInput, message, detail);

/** Thrown when the user interrupts (SIGINT, Ctrl-C); the CLI exits 130. */
export class InterruptedError extends DigitkitError {
  constructor(message = 'interrupted', detail?: unknown) {
    super(ExitCode.interrupted, message, detail);
    this.name = 'InterruptedError';
  }
}
