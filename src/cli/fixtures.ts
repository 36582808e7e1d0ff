import type { Command } from 'commander';
import type { FixturesReport } from '../verify/fixtures.js';
import { DEFAULT_DATA_DIR, DEFAULT_FIXTURES, DEFAULT_MODEL, orShipped } from '../node/paths.js';
import { int, sci } from '../format.js';
import { handler } from './context.js';
import { intOption } from './options.js';

interface Opts {
  model?: string;
  out: string;
  count: number;
  data: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('fixtures')
    .description('Write parity fixtures: test images and the probabilities a float64 reference gives for them')
    .option('--model <file>', `model the fixtures pin ${orShipped(DEFAULT_MODEL)}`)
    .option('--out <file>', 'fixtures file to write', DEFAULT_FIXTURES)
    .option('--count <n>', 'number of cases (at least one per class)', intOption, 100)
    .option('--data <dir>', 'MNIST directory (cases come from the t10k files)', DEFAULT_DATA_DIR)
    .option('--json', 'print one JSON document')
    .action(
      handler<Opts>(async (opts, ctx) => {
        const { runFixtures } = await import('../verify/fixtures.js');
        const r: FixturesReport = await runFixtures(opts);
        ctx.out(`wrote ${r.out.path}: ${r.cases} cases, ${int(r.out.bytes)} bytes`);
        ctx.out(`model     ${r.model.path} (sha256 ${r.model.sha256})`);
        ctx.out(`classes   ${r.perClass.map((n, c) => `${c}:${n}`).join(' ')}`);
        ctx.out(`reference float64, tolerance ${sci(r.tolerance)}; the model gets ${r.correct}/${r.cases} cases right`);
        return { json: r };
      }),
    );
}
