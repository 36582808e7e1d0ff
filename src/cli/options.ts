/**
 * Option-value parsers for commander: syntax only (is it an integer, a number, one of the choices?).
 * Ranges belong to the library functions, which know why a value is out of range and throw an
 * OptionError that the CLI words with the flag's name. A parser throws commander's
 * InvalidArgumentError, which the CLI turns into a one-line usage error and exit code 2.
 */
import { InvalidArgumentError, Option } from './commander.js';

/** An integer, written as one (no 1.5, no 1e3). */
export function intOption(value: string): number {
  const n = Number(value);
  if (!/^\s*-?\d+\s*$/.test(value) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError(`expected an integer, got "${value}"`);
  return n;
}

/** A finite number. */
export function numberOption(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${value}"`);
  return n;
}

/** Comma-separated integers: "128,64" → [128, 64]. */
export function intListOption(value: string): number[] {
  const parts = value.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p)))
    throw new InvalidArgumentError(`expected comma-separated integers, got "${value}"`);
  return parts.map(Number);
}

export function choiceOption<T extends string>(choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value))
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got "${value}"`);
    return value as T;
  };
}

/** Repeatable string option: `--core a --core b` -> ['a', 'b']. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export const INVERT_MODES = ['auto', 'yes', 'no'] as const;
export type InvertMode = (typeof INVERT_MODES)[number];

/** The picture-polarity flag of the commands that read image files (predict, explain). */
export function invertOption() {
  return new Option(
    '--invert <mode>',
    'polarity: auto (from the border), yes (dark ink on light), no (light ink on dark)',
  )
    .argParser(choiceOption(INVERT_MODES))
    .default('auto');
}
