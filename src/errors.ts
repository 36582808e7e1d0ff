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
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export class DigitkitError extends Error {
  readonly code: ExitCodeValue;
  /** Extra structured detail for --json output (e.g. per-mirror failures). */
  readonly detail?: unknown;
  constructor(code: ExitCodeValue, message: string, detail?: unknown) {
    super(message);
    this.name = 'DigitkitError';
    this.code = code;
    this.detail = detail;
  }
}

export const usageError = (message: string) => new DigitkitError(ExitCode.usage, message);
export const invalidInput = (message: string, detail?: unknown) =>
  new DigitkitError(ExitCode.invalidInput, message, detail);

/** Thrown when the user interrupts (SIGINT); the CLI exits 130. */
export class InterruptedError extends DigitkitError {
  constructor(message = 'interrupted') {
    super(ExitCode.interrupted, message);
    this.name = 'InterruptedError';
  }
}
