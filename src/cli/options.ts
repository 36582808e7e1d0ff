/**
 * Option-value parsers for commander. Each throws commander's InvalidArgumentError, which the
 * CLI turns into a one-line usage error and exit code 2.
 */
import { InvalidArgumentError } from './commander.js';

export function intOption(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected an integer, got "${value}"`);
    const n = Number(value);
    if (n < min || n > max)
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `expected an integer >= ${min}, got ${n}`
          : `expected an integer in [${min}, ${max}], got ${n}`,
      );
    return n;
  };
}

export function numberOption(opts: { min?: number; max?: number; exclusiveMin?: boolean } = {}) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${value}"`);
    if (opts.min !== undefined && (opts.exclusiveMin ? n <= opts.min : n < opts.min)) {
      throw new InvalidArgumentError(`expected a number ${opts.exclusiveMin ? '>' : '>='} ${opts.min}, got ${n}`);
    }
    if (opts.max !== undefined && n > opts.max)
      throw new InvalidArgumentError(`expected a number <= ${opts.max}, got ${n}`);
    return n;
  };
}

export function choiceOption<T extends string>(choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value))
      throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got "${value}"`);
    return value as T;
  };
}
