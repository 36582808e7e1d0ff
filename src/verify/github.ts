/**
 * GitHub Actions output for `verify` (when GITHUB_ACTIONS=true): `::error` workflow commands that
 * GitHub shows as annotations on the model file and on the fixtures file's line of each failing case,
 * and a Markdown table appended to the file $GITHUB_STEP_SUMMARY names.
 */
import fs from 'node:fs';

export interface AnnotatedRow {
  /** Row name, e.g. "firefox". */
  name: string;
  version: string;
  ok: boolean;
  cases: number;
  correct: number;
  max: { id: string; class: number; diff: number } | null;
  failures: { id: string; class: number; diff: number; expected: number; actual: number }[];
  error?: string;
  seconds: number;
}

/** GitHub caps error annotations per step at 10; the step summary lists everything. */
const MAX_ANNOTATIONS = 10;

/** Escaping of workflow commands: data and property values. */
const escapeData = (s: string) => s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
const escapeProperty = (s: string) => escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');

const sci = (x: number) => (x === 0 ? '0' : Number.isFinite(x) ? x.toExponential(2) : String(x));

/** The 1-based line of each case id in the fixtures file's text (formatFixtures writes one case a line). */
export function caseLines(fixturesText: string): Map<string, number> {
  const lines = new Map<string, number>();
  fixturesText.split('\n').forEach((line, k) => {
    const m = /^\s*\{"id":("(?:[^"\\]|\\.)*")/.exec(line);
    if (m) lines.set(JSON.parse(m[1]) as string, k + 1);
  });
  return lines;
}

/**
 * The `::error` lines for failing rows: one on the model file per failing runtime, then one on the
 * fixtures line of each failing case (worst first), at most 10 in all.
 */
export function annotations(
  rows: readonly AnnotatedRow[],
  files: { model: string; fixtures: string; fixturesText: string; tolerance: number },
): string[] {
  const out: string[] = [];
  const lines = caseLines(files.fixturesText);
  const cmd = (props: Record<string, string | number>, message: string) =>
    `::error ${Object.entries(props)
      .map(([k, v]) => `${k}=${escapeProperty(String(v))}`)
      .join(',')}::${escapeData(message)}`;
  for (const r of rows.filter((r) => !r.ok)) {
    const what = r.error
      ? `the module failed: ${r.error}`
      : `${r.failures.length} of ${r.cases} cases outside tolerance ${sci(files.tolerance)}; worst ${r.max?.id} class ${r.max?.class}, |Δp| ${sci(r.max?.diff ?? NaN)}`;
    out.push(cmd({ file: files.model, title: `digitkit verify: PARITY FAILED in ${r.name} (${r.version})` }, what));
  }
  for (const r of rows.filter((r) => !r.ok && !r.error)) {
    for (const f of r.failures) {
      if (out.length >= MAX_ANNOTATIONS) return out;
      const line = lines.get(f.id);
      out.push(
        cmd(
          { file: files.fixtures, ...(line ? { line } : {}), title: `${r.name}: case ${f.id} outside tolerance` },
          `class ${f.class}: expected ${f.expected}, got ${f.actual} (|Δp| ${sci(f.diff)} > ${sci(files.tolerance)})`,
        ),
      );
    }
  }
  return out.slice(0, MAX_ANNOTATIONS);
}

/** The Markdown step summary: the verdict and a row per runtime. */
export function stepSummary(
  rows: readonly AnnotatedRow[],
  info: { model: string; fixtures: string; tolerance: number; cases: number },
): string {
  const ok = rows.every((r) => r.ok);
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out = [
    `### digitkit verify: ${ok ? 'PARITY OK' : 'PARITY FAILED'}`,
    '',
    `Model \`${esc(info.model)}\`, ${info.cases} cases from \`${esc(info.fixtures)}\`, tolerance ${sci(info.tolerance)}.`,
    '',
    '| runtime | version | max \\|Δp\\| | case, class | correct | time | result |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${esc(r.name)} | ${esc(r.version)} | ${r.max ? sci(r.max.diff) : '–'} | ${r.max ? `${esc(r.max.id)}, ${r.max.class}` : '–'} | ${r.correct}/${r.cases} | ${r.seconds.toFixed(2)} s | ${r.ok ? '✅ ok' : r.error ? `❌ ${esc(r.error)}` : `❌ ${r.failures.length} cases`} |`,
    ),
    '',
  ];
  return out.join('\n') + '\n';
}

/** Under GitHub Actions: print the annotations and append the summary. Returns whether it did. */
export function reportToGitHub(
  rows: readonly AnnotatedRow[],
  info: { model: string; fixtures: string; fixturesText: string; tolerance: number; cases: number },
  print: (line: string) => void,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (env.GITHUB_ACTIONS !== 'true') return false;
  for (const line of annotations(rows, info)) print(line);
  if (env.GITHUB_STEP_SUMMARY) fs.appendFileSync(env.GITHUB_STEP_SUMMARY, stepSummary(rows, info));
  return true;
}
