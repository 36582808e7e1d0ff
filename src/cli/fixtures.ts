import type { Command } from 'commander';
import type { FixturesReport } from '../verify/fixtures.js';
import { DEFAULT_DATA_DIR, DEFAULT_FIXTURES, DEFAULT_MODEL, orShipped } from '../node/paths.js';
import { int, sci } from '../format.js';
import { addModelDataOptions } from './data-options.js';
import { handler } from './context.js';
import { intOption } from './options.js';
import type { DataFormat } from '../data/dataset.js';
import { fixturesPathFor } from '../verify/fixtures-file.js';

interface Opts {
  model?: string;
  out?: string;
  count?: number;
  data: string;
  format?: DataFormat;
  labelColumn?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('fixtures')
    .description('Write parity fixtures: test images and the probabilities a float64 reference gives for them')
    .option('--model <file>', `model the fixtures pin ${orShipped(DEFAULT_MODEL)}`)
    .option(
      '--out <file>',
      `fixtures file to write (default ${DEFAULT_FIXTURES} for ${DEFAULT_MODEL}, else fixtures/<model name>-parity.json)`,
    )
    .option('--count <n>', 'number of cases, at least one per class (default 100, or all when fewer)', intOption)
    .option(
      '--data <path>',
      'where cases come from: an IDX directory (its t10k files), an image folder or a CSV file (its rows; the test split the model was trained with, if it is that data)',
      DEFAULT_DATA_DIR,
    );
  addModelDataOptions(cmd)
    .option('--json', 'print one JSON document')
    .action(
      handler<Opts>(async (opts, ctx) => {
        const { runFixtures } = await import('../verify/fixtures.js');
        const r: FixturesReport = await runFixtures({
          ...opts,
          out: opts.out ?? fixturesPathFor(opts.model ?? DEFAULT_MODEL),
        });
        ctx.out(`wrote ${r.out.path}: ${r.cases} cases, ${int(r.out.bytes)} bytes`);
        ctx.out(`model     ${r.model.path} (sha256 ${r.model.sha256})`);
        ctx.out(`classes   ${r.perClass.map((n, c) => `${c}:${n}`).join(' ')}`);
        ctx.out(`reference float64, tolerance ${sci(r.tolerance)}; the model gets ${r.correct}/${r.cases} cases right`);
        return { json: r };
      }),
    );
}
