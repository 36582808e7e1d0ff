// Install digitkit as a user's project would: `npm pack` the repository, then `npm ci --offline` the
// tarball into a new project. Offline works because the project's lockfile is written from this
// repository's (the exact versions and integrities `npm ci` here already put in the npm cache), with
// the tarball as the one dependency: no registry is asked for anything.
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './cli.js';

const run = promisify(execFile);

/** npm, run quietly and offline; `npm_config_*` from `npm test` (the cache among them) are inherited. */
export const npm = (args: string[], cwd: string, env: Record<string, string> = {}) =>
  run('npm', [...args, '--offline', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd,
    env: { ...process.env, ...env },
    maxBuffer: 64 * 1024 * 1024,
  });

/** `npm pack` of the repository as it is (dist/ is built by the test setup) into `dir`; the tarball's path. */
export async function packRepo(dir: string): Promise<string> {
  const { stdout } = await npm(['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT);
  const [{ filename }] = JSON.parse(stdout) as { filename: string }[];
  return path.join(dir, filename);
}

interface LockEntry {
  version?: string;
  resolved?: string;
  dev?: boolean;
  link?: boolean;
  [key: string]: unknown;
}

/**
 * Write `dir`/package.json and package-lock.json for a project that depends on the tarball only, its
 * dependency tree taken from the repository's lockfile (every non-dev package, where npm placed it).
 */
export function writeConsumerProject(dir: string, tarball: string): void {
  const rel = `file:${path.relative(dir, tarball)}`;
  const repoLock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockEntry>;
  };
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const integrity = 'sha512-' + crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64');
  const manifest = { name: 'digitkit-consumer', version: '1.0.0', private: true, type: 'module' };
  const packages: Record<string, unknown> = { '': { ...manifest, dependencies: { digitkit: rel } } };
  const { version, license, engines, bin, dependencies, optionalDependencies } = pkg;
  packages['node_modules/digitkit'] = {
    version,
    resolved: rel,
    integrity,
    license,
    dependencies,
    optionalDependencies,
    bin,
    engines,
  };
  for (const [key, entry] of Object.entries(repoLock.packages)) {
    if (!key || entry.dev || entry.link) continue;
    const name = key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const file = `${name.split('/').pop()}-${entry.version}.tgz`;
    packages[key] = { ...entry, resolved: entry.resolved ?? `https://registry.npmjs.org/${name}/-/${file}` };
  }
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ ...manifest, dependencies: { digitkit: rel } }));
  const lock = { name: manifest.name, version: manifest.version, lockfileVersion: 3, requires: true, packages };
  fs.writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify(lock, null, 2));
}

/** Bytes under `dir` (files only, links not followed), as `du` would count the content. */
export function treeBytes(dir: string): number {
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += treeBytes(p);
    else if (e.isFile()) total += fs.statSync(p).size;
  }
  return total;
}
