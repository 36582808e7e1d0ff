// Every command's --help: an example, its exit codes, defaults written one way; predict lists the
// formats it reads, pipeline and the writing commands say what they overwrite; `help --help` is help.
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../src/cli/commands.js';
import { IMAGE_EXTENSIONS } from '../src/node/image.js';
import { runCli } from './helpers/cli.js';

describe('--help', () => {
  it.each(COMMANDS.map((c) => c.name))(
    'digitkit %s --help: example, exit codes, one way of writing defaults',
    async (name) => {
      const r = await runCli([name, '--help']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Examples?:\\n  \\$ digitkit ${name}\\b`, 'm'));
      expect(r.stdout).toMatch(
        /^Exit codes: 0 ok, .*2 usage error.*3 invalid or corrupt input file.*130 interrupted \(Ctrl-C\)\.$/m,
      );
      expect(r.stdout).not.toContain('(default: ');
      expect(r.stdout).not.toMatch(/\(default "/);
    },
  );

  it('predict lists the formats it reads; pipeline and the writing commands say they overwrite', async () => {
    const predict = await runCli(['predict', '--help']);
    for (const ext of IMAGE_EXTENSIONS) expect(predict.stdout).toContain(ext);
    const pipeline = await runCli(['pipeline', '--help']);
    expect(pipeline.stdout).toMatch(/Overwrites the models in --models \(models\/ by default\).*fixtures/);
    for (const [cmd, what] of [
      ['train', '--out'],
      ['quantize', '--out'],
      ['fixtures', '--out'],
      ['eval', '--report'],
    ]) {
      const r = await runCli([cmd, '--help']);
      expect(r.stdout, cmd).toMatch(new RegExp(`Overwrites [^\\n]*${what}[^\\n]*atomically`));
    }
    const flat = async (cmd: string) => (await runCli([cmd, '--help'])).stdout.replace(/\s+/g, ' ');
    expect(await flat('train')).toContain('--seed <n> PRNG seed (default 1)');
    expect(await flat('download')).toContain('--dir <path> directory for the four raw IDX files (default data/mnist');
  });

  it('digitkit help --help and digitkit help train exit 0', async () => {
    const a = await runCli(['help', '--help']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stdout).toContain('Usage: digitkit');
    const b = await runCli(['help', 'train']);
    expect(b.code).toBe(0);
    expect(b.stdout).toContain('Usage: digitkit train');
  });
});
