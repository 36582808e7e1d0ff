/** A placeholder for a subcommand that is not built yet: it says so and exits 2, never pretends. */
import type { Command } from 'commander';
import { DigitkitError, ExitCode } from '../errors.js';
import { handler } from './context.js';

export function registerNotBuilt(program: Command, name: string, description: string): void {
  program
    .command(name)
    .description(`${description} (not built yet)`)
    .allowUnknownOption()
    .allowExcessArguments()
    .option('--json', 'print one JSON document')
    .action(
      handler(async () => {
        throw new DigitkitError(ExitCode.usage, `\`digitkit ${name}\` is not built yet in this version`);
      }),
    );
}
