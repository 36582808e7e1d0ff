/**
 * The digitkit program with every command (bin/digitkit.js runs it for all but the hot path, which
 * starts from hot.ts's one bundled file).
 */
import { COMMANDS } from './commands.js';
import { buildProgram as build, runProgram } from './program.js';

/** The program for these arguments (only the commands it can reach are loaded). */
export const buildProgram = (argv: string[]) => build(argv, COMMANDS);

export const main = (argv: string[]): Promise<void> => runProgram(argv, COMMANDS);
