/**
 * Reading an input file (a model, a fixtures file) before parsing it: a regular file, within its size
 * limit, read whole; every problem is exit 3 naming the file.
 */
import fsp from 'node:fs/promises';
import { DigitkitError, invalidInput } from '../errors.js';

/**
 * The bytes of `file`, a `kind` file ("model", "fixtures") of at most `limit` bytes. `missing` is
 * what to say when there is no such file.
 */
export async function readInputFile(file: string, kind: string, limit: number, missing: string): Promise<Buffer> {
  try {
    const st = await fsp.stat(file);
    if (!st.isFile()) throw invalidInput(`${file}: not a regular file`);
    if (st.size > limit)
      throw invalidInput(`${file}: ${st.size} bytes, larger than the ${limit}-byte limit for a ${kind} file`);
    return await fsp.readFile(file);
  } catch (err) {
    if (err instanceof DigitkitError) throw err;
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw invalidInput(`${file}: ${missing}`);
    if (e.code) throw invalidInput(`${file}: cannot read (${e.code})`);
    throw err;
  }
}
