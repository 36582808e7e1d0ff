/**
 * Where MNIST files come from: the source choice and the ordered list of web mirrors.
 */
import { usageError } from '../errors.js';
import { DEFAULT_MIRRORS } from './mnist.js';

export const SOURCE_CHOICES = ['auto', 'embedded', 'web'] as const;
export type SourceChoice = (typeof SOURCE_CHOICES)[number];

/**
 * Validate a mirror base URL (http or https) and give it a trailing slash, so that
 * `<name>.gz` is appended to the path instead of replacing its last segment.
 * Throws a usage error (exit 2) naming `origin` (e.g. "--mirror" or "DIGITKIT_MIRROR").
 */
export function parseMirror(value: string, origin = '--mirror'): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw usageError(`${origin}: not a URL: "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw usageError(`${origin}: expected an http:// or https:// URL, got "${value}"`);
  }
  if (url.search || url.hash)
    throw usageError(`${origin}: a mirror is a base URL without ?query or #fragment, got "${value}"`);
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url.href;
}

/** The comma-separated DIGITKIT_MIRROR value as a list (empty entries ignored). */
export function splitMirrorEnv(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/**
 * Mirrors in the order they are tried: `--mirror` flags, then DIGITKIT_MIRROR entries,
 * then (unless turned off) the defaults. Each validated; duplicates keep their first place.
 */
export function mirrorOrder(
  flags: readonly string[],
  envEntries: readonly string[],
  includeDefaults = true,
  defaults: readonly string[] = DEFAULT_MIRRORS,
): string[] {
  const all = [
    ...flags.map((m) => parseMirror(m, '--mirror')),
    ...envEntries.map((m) => parseMirror(m, 'DIGITKIT_MIRROR')),
    ...(includeDefaults ? defaults : []),
  ];
  return [...new Set(all)];
}

/** The URL of one file's gzip on a mirror. */
export function gzipUrl(mirror: string, name: string): string {
  return new URL(`${name}.gz`, mirror).href;
}
