// Temporary MNIST directories for download tests: seed them from the embedded copy, snapshot what
// is there, and check afterwards that nothing partial was left and no good file was touched.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { embeddedMnistDir, MNIST_FILES } from '../../src/data/mnist.js';

export const NAMES = MNIST_FILES.map((f) => f.name);
export const LABELS = 't10k-labels-idx1-ubyte';
export const LABELS_SHA = MNIST_FILES.find((f) => f.name === LABELS)!.sha256;
const made: string[] = [];

export function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

/** A fresh temporary directory holding verified copies of every file except `missing`. */
export function seededDir(missing: readonly string[] = [LABELS]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-dl-'));
  made.push(dir);
  for (const name of NAMES) {
    if (!missing.includes(name)) fs.copyFileSync(path.join(embeddedMnistDir(), name), path.join(dir, name));
  }
  return dir;
}

/** A fresh temporary directory path that does not exist yet. */
export function freshDir(): string {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'digitkit-dl-'));
  made.push(parent);
  return path.join(parent, 'mnist');
}

export function removeTempDirs(): void {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

export interface FileSnapshot {
  ino: number;
  mtimeMs: number;
  sha256: string;
}

/** Identity and content of every file in `dir`, to prove later that good files were not touched. */
export function snapshot(dir: string): Map<string, FileSnapshot> {
  const snap = new Map<string, FileSnapshot>();
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    const st = fs.statSync(p);
    snap.set(name, { ino: st.ino, mtimeMs: st.mtimeMs, sha256: sha256File(p) });
  }
  return snap;
}

/** Every file of `before` is still there: same inode, same mtime, same bytes. */
export function expectUntouched(dir: string, before: Map<string, FileSnapshot>): void {
  for (const [name, was] of before) {
    const p = path.join(dir, name);
    const st = fs.statSync(p);
    expect({ name, ino: st.ino, mtimeMs: st.mtimeMs, sha256: sha256File(p) }).toEqual({ name, ...was });
  }
}

/** Entries of `dir` other than the four canonical names (temporary or partial files). */
export function strayFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((n) => !NAMES.includes(n));
}

/** The four files in `dir` hash to MNIST_FILES. */
export function expectAllVerified(dir: string): void {
  for (const f of MNIST_FILES) {
    const p = path.join(dir, f.name);
    expect(fs.statSync(p).size, f.name).toBe(f.bytes);
    expect(sha256File(p), f.name).toBe(f.sha256);
  }
}
