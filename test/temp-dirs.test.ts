// The tests' temporary directories are removed by the tests themselves (also when they fail: the
// hooks below run either way), not left for a process 'exit' handler that vitest's workers never run.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/random-model.js';

let inTest = '';
let inDescribe = '';

describe('a directory made at a describe block top level', () => {
  inDescribe = tempDir('digitkit-test-');
  it('exists during its tests', () => expect(fs.existsSync(inDescribe)).toBe(true));
});

it('a directory made inside a test exists during it', () => {
  inTest = tempDir('digitkit-test-');
  expect(fs.existsSync(inTest)).toBe(true);
});

it('both are gone once their tests are over', () => {
  expect(inTest).not.toBe('');
  expect(fs.existsSync(inTest)).toBe(false);
  expect(fs.existsSync(inDescribe)).toBe(false);
});
