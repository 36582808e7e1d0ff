/**
 * The digitkit program: one commander instance, one file per command in src/cli/.
 * Usage errors from commander (unknown option, bad value) become exit 2, in JSON too under --json.
 */
import { createRequire } from 'node:module';
import type { Command as CommandType } from 'commander';
import { Command, CommanderError } from './commander.js';
import { DigitkitError, ExitCode } from '../errors.js';
import { reportError } from './context.js';
import { COMMANDS } from './commands.js';

const VERSION: string = createRequire(import.meta.url)('../../package.json').version;

/**
 * The program for these arguments. Only the commands it can reach are loaded: the one named
 * (`digitkit predict ...` loads predict's module alone), none for --version, every one otherwise
 * (help, `help <command>`, a misspelt name that commander suggests a correction for).
 */
export async function buildProgram(argv: string[]): Promise<CommandType> {
  const program = new Command('digitkit');
  program
    .description(
      'Train a small MNIST classifier from scratch, quantize it to int8, and prove the shipped inference core reproduces it.',
    )
    .version(VERSION, '-V, --version')
    .enablePositionalOptions();
  const first = argv[2];
  const named = COMMANDS.filter((c) => c.name === first);
  const needed = named.length ? named : first === '-V' || first === '--version' ? [] : COMMANDS;
  for (const m of await Promise.all(needed.map((c) => c.load()))) m.register(program);
  return program;
}

/** Commander's "error: …" as the one line every digitkit error is: `digitkit <cmd>: … (see --help)`. */
function usageLine(cmd: CommandType, text: string): string {
  const name = cmd.parent ? `digitkit ${cmd.name()}` : 'digitkit';
  return `${name}: ${text.trim().replace(/^error: /, '')} (see \`${name} --help\`)\n`;
}

export async function main(argv: string[]): Promise<void> {
  // `digitkit … | head`: a closed pipe ends the output quietly instead of crashing.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? ExitCode.ok);
    throw err;
  });
  const json = argv.includes('--json');
  // An error thrown outside a command's await chain (a timer, an event handler) is a bug too: exit 70.
  const crash = (err: unknown) => process.exit(reportError(err, json));
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  const program = await buildProgram(argv);
  program.exitOverride();
  const silence = (cmd: CommandType) => {
    cmd.exitOverride();
    // Under --json the error goes out as one JSON document instead of commander's text.
    cmd.configureOutput({
      outputError: (str, write) => {
        if (!json) write(usageLine(cmd, str));
      },
    });
    for (const sub of cmd.commands) silence(sub);
  };
  silence(program);
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
        process.exitCode = err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
        return;
      }
      process.exitCode = ExitCode.usage;
      if (json) reportError(new DigitkitError(ExitCode.usage, err.message.replace(/^error: /, '')), true);
      return;
    }
    process.exitCode = reportError(err, json);
  }
}
