/**
 * `verify --junit FILE`: the results as the JUnit XML that Jenkins, GitLab and GitHub test reporters
 * read (testsuites > testsuite > testcase > failure | error): one testsuite per runtime, one testcase
 * per fixture case, so a report names the digit that broke and in which runtime.
 *
 * A case outside tolerance is a <failure> (class, expected, got, |Δp|); a runtime that could not run
 * the cases at all (the module threw) gives every case an <error> with the reason. Attribute values
 * and text are escaped; characters XML 1.0 cannot carry are dropped.
 */
import os from 'node:os';
import type { CaseDiff } from './verify.js';

export interface JunitCase {
  id: string;
  /** The case's worst class, when it is outside tolerance. */
  failure?: CaseDiff;
}

export interface JunitSuite {
  /** The runtime's row name, e.g. "node", "firefox", "node (core-wasm)". */
  name: string;
  /** Properties shown by reporters that read them: version, module, model, fixtures, tolerance. */
  properties: Record<string, string>;
  cases: JunitCase[];
  /** The whole runtime failed before it gave probabilities: every case is an error. */
  error?: string;
  seconds: number;
  tolerance: number;
}

/** Keep only characters XML 1.0 allows, then escape the five special ones. */
export function xmlEscape(s: string): string {
  return s
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

const attrs = (a: Record<string, string | number>) =>
  Object.entries(a)
    .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
    .join('');

const sci = (x: number) => (Number.isFinite(x) ? x.toExponential(3) : String(x));

/** The message a failing case carries: the class, expected, got and |Δp| against the tolerance. */
export function failureMessage(f: CaseDiff, tolerance: number): string {
  return `class ${f.class}: expected ${f.expected}, got ${f.actual} (|Δp| ${sci(f.diff)} > ${sci(tolerance)})`;
}

/** The JUnit XML document for these suites (timestamp: when the run started, ISO 8601 without zone). */
export function junitXml(suites: readonly JunitSuite[], opts: { name?: string; timestamp?: Date } = {}): string {
  const stamp = (opts.timestamp ?? new Date()).toISOString().replace(/\.\d+Z$/, '');
  const total = (f: (s: JunitSuite) => number) => suites.reduce((n, s) => n + f(s), 0);
  const failures = (s: JunitSuite) => (s.error ? 0 : s.cases.filter((c) => c.failure).length);
  const errors = (s: JunitSuite) => (s.error ? s.cases.length : 0);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites${attrs({
      name: opts.name ?? 'digitkit verify',
      tests: total((s) => s.cases.length),
      failures: total(failures),
      errors: total(errors),
      time: total((s) => s.seconds).toFixed(3),
    })}>`,
  ];
  suites.forEach((s, k) => {
    lines.push(
      `  <testsuite${attrs({
        name: s.name,
        tests: s.cases.length,
        failures: failures(s),
        errors: errors(s),
        skipped: 0,
        time: s.seconds.toFixed(3),
        timestamp: stamp,
        hostname: os.hostname() || 'localhost',
        id: k,
      })}>`,
    );
    lines.push('    <properties>');
    for (const [name, value] of Object.entries(s.properties)) lines.push(`      <property${attrs({ name, value })}/>`);
    lines.push('    </properties>');
    const classname = `digitkit.verify.${s.name.replace(/[^\w.-]+/g, '_')}`;
    for (const c of s.cases) {
      const head = `    <testcase${attrs({ name: c.id, classname })}`;
      if (s.error) {
        const message = `not run: ${s.error}`;
        lines.push(`${head}>`, `      <error${attrs({ message, type: 'RuntimeError' })}>${xmlEscape(message)}</error>`);
        lines.push('    </testcase>');
      } else if (c.failure) {
        const message = failureMessage(c.failure, s.tolerance);
        const text = `${s.name}: case ${c.id}, ${message}`;
        lines.push(`${head}>`, `      <failure${attrs({ message, type: 'ParityError' })}>${xmlEscape(text)}</failure>`);
        lines.push('    </testcase>');
      } else {
        lines.push(`${head}/>`);
      }
    }
    lines.push('  </testsuite>');
  });
  lines.push('</testsuites>');
  return lines.join('\n') + '\n';
}
