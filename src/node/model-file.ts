/**
 * Reading a model file from disk: size limit before parsing, then the core's parser, with every
 * problem reported as exit code 3 naming the file.
 */
import fsp from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { loadRawModel, MAX_MODEL_BYTES, ModelError, parseRawModel, type Model, type RawModel } from '../core/index.js';
import { invalidInput } from '../errors.js';

export interface ModelFile {
  path: string;
  /** The file's bytes, as read. */
  bytes: Buffer;
  /** SHA-256 (hex) of the bytes. */
  sha256: string;
  raw: RawModel;
  model: Model;
}

export async function readModelFile(file: string): Promise<ModelFile> {
  let bytes: Buffer;
  try {
    const st = await fsp.stat(file);
    if (!st.isFile()) throw invalidInput(`${file}: not a regular file`);
    if (st.size > MAX_MODEL_BYTES) throw invalidInput(`${file}: ${st.size} bytes, larger than the ${MAX_MODEL_BYTES}-byte limit for a model file`);
    bytes = await fsp.readFile(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw invalidInput(`${file}: no such model file`);
    if (e.code) throw invalidInput(`${file}: cannot read (${e.code})`);
    throw err;
  }
  let raw: RawModel;
  try {
    raw = parseRawModel(bytes.toString('utf8'), file);
  } catch (err) {
    if (err instanceof ModelError) throw invalidInput(err.message);
    throw err;
  }
  return { path: file, bytes, sha256: createHash('sha256').update(bytes).digest('hex'), raw, model: loadRawModel(raw) };
}
