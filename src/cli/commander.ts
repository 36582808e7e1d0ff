/**
 * commander, loaded with require. It is a CommonJS package: importing it from ESM makes Node lex its
 * source for named exports first, about 6 ms of every start (`digitkit predict one.png` included).
 * Types still come from `import type … from 'commander'`.
 */
import { createRequire } from 'node:module';

const { Command, CommanderError, InvalidArgumentError, Option } = createRequire(import.meta.url)(
  'commander',
) as typeof import('commander');
export { Command, CommanderError, InvalidArgumentError, Option };
