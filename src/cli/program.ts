/**
 * The digitkit program: one commander instance, one file per command in src/cli/, from a table of
 * commands (main.ts: every command; hot.ts: `predict` alone, bundled into one file at build time).
 * Usage errors from commander (unknown option, bad value) become exit 2, in JSON too under --json.
 */
import { createRequire } from 'node:module';
import type { Command as CommandType } from 'commander';
import { Command, CommanderError } from './commander.js';
import { DigitkitError, ExitCode } from '../errors.js';
import { reportError } from './context.js';
import type { CommandEntry } from './commands.js';
import { addHelp } from './help.js';

const VERSION: string = createRequire(import.meta.url)('../../package.json').version;

/**
 * The program for these arguments. Only the commands it can reach are loaded: the one named
 * (`digitkit predict ...` loads predict's module alone), none for --version, every one otherwise
 * (help, `help <command>`, a misspelt name that commander suggests a correction for).
 */
export async function buildProgram(argv: string[], commands: ReadonlyArray<CommandEntry>): Promise<CommandType> {
  const program = new Command('digitkit');
  program
    .description(
      'Train a small MNIST classifier from scratch, quantize it to int8, and prove the shipped inference core reproduces it.',
    )
    .version(VERSION, '-V, --version')
    .enablePositionalOptions();
  const first = argv[2];
  const named = commands.filter((c) => c.name === first);
  const needed = named.length ? named : first === '-V' || first === '--version' ? [] : commands;
  for (const m of await Promise.all(needed.map((c) => c.load()))) m.register(program);
  addHelp(program);
  return program;
}

/** Commander's "error: …" as the one line every digitkit error is: `digitkit <cmd>: … (see --help)`. */
function usageLine(cmd: CommandType, text: string): string {
  const name = cmd.parent ? `digitkit ${cmd.name()}` : 'digitkit';
  return `${name}: ${text.trim().replace(/^error: /, '')} (see \`${name} --help\`)\n`;
}

/** Run the program for `argv` (process.argv) with these commands; sets process.exitCode. */
export async function runProgram(argv: string[], commands: ReadonlyArray<CommandEntry>): Promise<void> {
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
  const program = await buildProgram(argv, commands);
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
  // `digitkit help --help` asks for help on help: the program's help, exit 0 (commander reads
  // "--help" as a command name there and fails).
  if (argv[2] === 'help' && (argv[3] === '--help' || argv[3] === '-h')) argv = [...argv.slice(0, 2), '--help'];
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
