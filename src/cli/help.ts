/**
 * What every command's --help ends with: an example, what it overwrites, and its exit codes (from the
 * one table in errors.ts). Defaults are written one way, "(default X)", whether commander supplies the
 * value or the description states it.
 */
import type { Command, Help, Option } from 'commander';
import { ExitCode, type ExitCodeValue } from '../errors.js';

/** The meaning of each exit code, as the help prints it. */
const MEANING: Record<ExitCodeValue, string> = {
  [ExitCode.ok]: 'ok',
  [ExitCode.checkFailed]: 'check failed',
  [ExitCode.usage]: 'usage error, or an output path that cannot be written',
  [ExitCode.invalidInput]: 'invalid or corrupt input file',
  [ExitCode.unavailable]: 'network, source or file unavailable',
  [ExitCode.imageRejected]: 'image rejected (predict: or a result "not sure", without --allow-unsure)',
  [ExitCode.internal]: 'internal error (a bug in digitkit)',
  [ExitCode.interrupted]: 'interrupted (Ctrl-C)',
};

interface CommandHelp {
  examples: string[];
  /** Exit codes besides 0, 2, 3, 70 and 130, which every command can give. */
  codes?: ExitCodeValue[];
  notes?: string[];
}

const OVERWRITES = (what: string) =>
  `Overwrites ${what} if it exists, atomically: the new file replaces the old one whole, or the old one stays.`;

const HELP: Record<string, CommandHelp> = {
  download: {
    examples: ['digitkit download', 'digitkit download --source web --mirror https://example.org/mnist/'],
    codes: [ExitCode.unavailable],
    notes: ['3: wrong bytes from every source (sha256 mismatch); 4: no source reachable.'],
  },
  inspect: { examples: ['digitkit inspect data/mnist', 'digitkit inspect my-photos/ --sheet sheet.png'] },
  train: {
    examples: ['digitkit train --fast', 'digitkit train --epochs 30 --early-stop 5 --log train.csv'],
    codes: [ExitCode.unavailable],
    notes: [
      OVERWRITES('--out, the checkpoint and --log'),
      'A second run writing the same checkpoint refuses to start (exit 4); give it its own --checkpoint.',
    ],
  },
  quantize: {
    examples: ['digitkit quantize', 'digitkit quantize --in models/mnist-f32.json --out models/mnist-int8.json'],
    notes: [OVERWRITES('--out')],
  },
  fixtures: { examples: ['digitkit fixtures --count 200'], notes: [OVERWRITES('--out')] },
  verify: {
    examples: ['digitkit verify', 'digitkit verify --runtime node,chromium --junit parity.xml'],
    codes: [ExitCode.checkFailed, ExitCode.unavailable],
  },
  predict: {
    examples: [
      'digitkit predict seven.png',
      'digitkit predict photos/ --json',
      'digitkit predict drawing.png --min-confidence 0.56',
    ],
    codes: [ExitCode.imageRejected],
    notes: [
      "Accepted images: PNG, JPEG, WebP, GIF, TIFF and AVIF (.png .jpg .jpeg .webp .gif .tif .tiff .avif), read by their content; - reads one image from stdin. A directory's other files are skipped and counted.",
    ],
  },
  pipeline: {
    examples: ['digitkit pipeline', 'digitkit pipeline --fast'],
    codes: [ExitCode.checkFailed, ExitCode.unavailable],
    notes: [
      'Overwrites the models in --models (models/ by default), their checkpoint and the fixtures file (fixtures/ by default), each atomically.',
    ],
  },
  eval: {
    examples: [
      'digitkit eval',
      'digitkit eval --report report/ --compare models/mnist-f32.json',
      'digitkit eval --confidence --out models/mnist-int8-sure.json',
    ],
    notes: [OVERWRITES('the files of --report, and --out')],
  },
  explain: { examples: ['digitkit explain seven.png'], codes: [ExitCode.imageRejected] },
  web: { examples: ['digitkit web site/', 'digitkit web site/ --serve'], codes: [ExitCode.unavailable] },
  export: { examples: ['digitkit export --onnx mnist.onnx'], notes: [OVERWRITES('--onnx')] },
  import: { examples: ['digitkit import model.onnx --out models/imported.json'], notes: [OVERWRITES('--out')] },
};

const ALWAYS: ExitCodeValue[] = [
  ExitCode.ok,
  ExitCode.usage,
  ExitCode.invalidInput,
  ExitCode.internal,
  ExitCode.interrupted,
];

/** The text after a command's options: examples, notes, exit codes. */
export function epilogue(name: string): string {
  const h = HELP[name] ?? { examples: [`digitkit ${name}`] };
  const codes = [...new Set([...ALWAYS, ...(h.codes ?? [])])].sort((a, b) => a - b);
  return [
    '',
    `Example${h.examples.length > 1 ? 's' : ''}:`,
    ...h.examples.map((e) => `  $ ${e}`),
    ...(h.notes?.length ? ['', ...h.notes] : []),
    '',
    `Exit codes: ${codes.map((c) => `${c} ${MEANING[c]}`).join(', ')}.`,
    '',
  ].join('\n');
}

/** One way to write a default: "(default X)", also for the values commander fills in. */
function optionDescription(help: Help, option: Option): string {
  const text = option.description.replace(/\(default: /g, '(default ');
  const value = option.defaultValue as unknown;
  if (value === undefined || typeof value === 'boolean' || /\(default /.test(text)) return text;
  const shown = Array.isArray(value) ? value.join(',') : String(value);
  return `${text} (default ${shown})`;
}

/** Give every command (and the program) the epilogue and the one way of writing defaults. */
export function addHelp(program: Command): void {
  program.configureHelp({ optionDescription: (o) => optionDescription(program.createHelp(), o) });
  for (const cmd of program.commands) {
    cmd.configureHelp({ optionDescription: (o) => optionDescription(cmd.createHelp(), o) });
    if (cmd.name() !== 'help') cmd.addHelpText('after', epilogue(cmd.name()));
  }
}
