// `digitkit web <outdir>`: what the site holds (the shipped core byte for byte, the model as given),
// its size budget, refusing to clobber a user's directory, never leaving a half-written site, and
// `--serve` on 127.0.0.1. The page itself runs in a real browser in web-browser.test.ts.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CORE_FILE, EXPLAIN_FILE, FIXTURES_FILE, SITE_CSP, SITE_FILES, writeSite } from '../src/web/site.js';
import { ROOT, runCli } from './helpers/cli.js';
import { serveSite } from './helpers/serve.js';
import { snapshot, expectUntouched } from './helpers/mnist-dir.js';
import { embeddedMnistDir } from '../src/data/mnist.js';
import { tempDir, writeRandomModel } from './helpers/random-model.js';

const dir = tempDir('digitkit-web-site-');
const model = writeRandomModel(dir, 'model.json', { seed: 51 });
const SHIPPED_MODEL = path.join(ROOT, 'models/mnist-int8.json');
const SHIPPED_CORE = path.join(ROOT, 'dist/core/index.js');
const SHIPPED_EXPLAIN = path.join(ROOT, 'dist/explain/index.js');
const SHIPPED_FIXTURES = path.join(ROOT, 'fixtures/parity.json');
/** The site's files when there are no fixtures for its model (no self-test). */
const WITHOUT_FIXTURES = SITE_FILES.filter((f) => f !== FIXTURES_FILE);
let n = 0;
const fresh = (name = 'site') => path.join(dir, `${name}-${++n}`);
const web = (args: string[]) => runCli(['web', ...args]);
/** Entries beside `target` that the staging step would leave behind if it leaked. */
const strays = (target: string) =>
  fs.readdirSync(path.dirname(target)).filter((f) => f.startsWith(`.${path.basename(target)}.tmp-`));

afterEach(() => vi.restoreAllMocks());

describe('digitkit web <outdir>', () => {
  it('writes index.html, the page scripts and style, the shipped core and explain modules byte for byte and the model as given', async () => {
    const out = fresh();
    const r = await web([out, '--model', model]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual([...WITHOUT_FIXTURES].sort());
    expect(fs.readFileSync(path.join(out, CORE_FILE))).toEqual(fs.readFileSync(SHIPPED_CORE));
    expect(fs.readFileSync(path.join(out, EXPLAIN_FILE))).toEqual(fs.readFileSync(SHIPPED_EXPLAIN));
    expect(fs.readFileSync(path.join(out, 'model.json'))).toEqual(fs.readFileSync(model));
    expect(r.stdout).toMatch(
      new RegExp(`^wrote ${out}: 7 files, [\\d,]+ bytes \\(the page budget is 200,000 with the int8 model\\)$`, 'm'),
    );
    expect(r.stdout).toMatch(
      /^ {2}digitkit-core\.js +[\d,]+ {2}\([\d,]+ gzipped; dist\/core\/index\.js as shipped\)$/m,
    );
    expect(r.stdout).toMatch(
      /^ {2}digitkit-explain\.js +[\d,]+ {2}\([\d,]+ gzipped; dist\/explain\/index\.js as shipped\)$/m,
    );
    // The fixtures in fixtures/ are for the shipped model, not this one: no self-test, and it says why.
    expect(r.stdout).toContain(
      'no self-test on the page: fixtures/parity.json was made for another model (models/mnist-int8.json)',
    );
    expect(strays(out)).toEqual([]);
  });

  it("copies the model's fixtures for the page's self-test: fixtures/parity.json for the shipped model, --fixtures for another; a mismatch named with --fixtures is exit 3", async () => {
    const out = fresh();
    const r = await web([out, '--json']);
    expect(r.code).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual([...SITE_FILES].sort());
    expect(fs.readFileSync(path.join(out, FIXTURES_FILE))).toEqual(fs.readFileSync(SHIPPED_FIXTURES));
    expect(JSON.parse(r.stdout).selfTest).toEqual({
      fixtures: 'fixtures/parity.json',
      cases: 100,
      bytes: fs.statSync(SHIPPED_FIXTURES).size,
      budgetBytes: 150_000,
    });
    // Rewritten for a model those fixtures do not fit: the old fixtures.json must not stay beside it.
    expect((await web([out, '--model', model])).code).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual([...WITHOUT_FIXTURES].sort());
    // Fixtures made for this model, named with --fixtures.
    const fx = path.join(dir, 'random-fixtures.json');
    const f = await runCli(['fixtures', '--model', model, '--out', fx, '--count', '12', '--data', embeddedMnistDir()]);
    expect(f.code).toBe(0);
    expect((await web([out, '--model', model, '--fixtures', fx])).code).toBe(0);
    expect(fs.readFileSync(path.join(out, FIXTURES_FILE))).toEqual(fs.readFileSync(fx));
    // Fixtures for another model, named explicitly: refused like verify refuses them, nothing written.
    const none = fresh();
    const bad = await web([none, '--model', model, '--fixtures', SHIPPED_FIXTURES]);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain(`the model ${SHIPPED_FIXTURES} was made for (models/mnist-int8.json)`);
    expect(fs.existsSync(none)).toBe(false);
    expect(strays(none)).toEqual([]);
  });

  it('the page loads the core as a module script and asks for nothing outside the site (no absolute URL, no CDN)', () => {
    const out = path.join(dir, 'site-1');
    const html = fs.readFileSync(path.join(out, 'index.html'), 'utf8');
    const js = fs.readFileSync(path.join(out, 'app.js'), 'utf8');
    const engine = fs.readFileSync(path.join(out, 'engine.js'), 'utf8');
    expect(html).toContain('<script type="module" src="app.js"></script>');
    // The page's model-running code is engine.js, the one file that imports the shipped modules.
    expect(js.match(/\bimport\b.*\bfrom\b.*/g)).toEqual(["import * as engine from './engine.js';"]);
    expect([...engine.matchAll(/\bimport\b[^;]*\bfrom '([^']*)';/g)].map((m) => m[1])).toEqual([
      './digitkit-core.js',
      './digitkit-explain.js',
    ]);
    // A Content-Security-Policy that lets the page reach its own origin only, in case a change forgets.
    expect(html).toContain("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'");
    for (const f of ['index.html', 'app.js', 'engine.js', 'style.css']) {
      const text = fs.readFileSync(path.join(out, f), 'utf8');
      expect(text, f).not.toMatch(/https?:|(?:src|href)=["']?\/\/|url\(/i);
    }
  });

  it('fits the budgets: the core <= 5 KB and explain <= 2 KB gzipped, the whole page <= 200,000 bytes with the int8 model, fixtures.json <= 150,000', async () => {
    // The shipped model when it exists; otherwise a random int8 model of the same shape, and the
    // page's own files must leave room for any int8 model within the shipped one's 150,000-byte cap.
    const int8 = fs.existsSync(SHIPPED_MODEL) ? SHIPPED_MODEL : model;
    const r = await web([fresh(), '--model', int8, '--json']);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.model.dtype).toBe('int8');
    expect(doc.coreGzipBytes).toBe(gzipSync(fs.readFileSync(SHIPPED_CORE), { level: 9 }).length);
    expect(doc.coreGzipBytes).toBeLessThanOrEqual(5120);
    expect(doc.explainGzipBytes).toBe(gzipSync(fs.readFileSync(SHIPPED_EXPLAIN), { level: 9 }).length);
    expect(doc.explainGzipBytes).toBeLessThanOrEqual(2048);
    // The page is every file but fixtures.json, which only the self-test fetches (its own budget).
    type F = { name: string; bytes: number };
    const page = doc.files.filter((f: F) => f.name !== FIXTURES_FILE);
    expect(doc.totalBytes).toBe(page.reduce((s: number, f: F) => s + f.bytes, 0));
    expect(doc.totalBytes).toBeLessThanOrEqual(200_000);
    const pageOnly = doc.totalBytes - fs.statSync(int8).size;
    expect(pageOnly + 150_000).toBeLessThanOrEqual(200_000);
    const fixtures = doc.files.find((f: F) => f.name === FIXTURES_FILE);
    if (int8 === SHIPPED_MODEL) expect(fixtures.bytes).toBeLessThanOrEqual(150_000);
    console.log(
      `web: page ${doc.totalBytes} bytes with ${path.relative(ROOT, int8)} (${pageOnly} without the model), core ${doc.coreGzipBytes} and explain ${doc.explainGzipBytes} bytes gzipped, fixtures.json ${fixtures?.bytes ?? 'none'} bytes`,
    );
  });

  it('refuses a non-empty directory it did not write (exit 2, untouched); --force writes into it and keeps the other files', async () => {
    const out = fresh('user');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'notes.txt'), 'mine');
    fs.writeFileSync(path.join(out, 'index.html'), '<p>my own page</p>');
    const before = snapshot(out);
    const r = await web([out, '--model', model]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      new RegExp(`^digitkit web: ${out}: not empty and not a site \`digitkit web\` wrote \\(2 entries\\); .*--force`),
    );
    expectUntouched(out, before);
    const f = await web([out, '--model', model, '--force']);
    expect(f.code).toBe(0);
    expect(fs.readFileSync(path.join(out, 'notes.txt'), 'utf8')).toBe('mine');
    expect(fs.readFileSync(path.join(out, CORE_FILE))).toEqual(fs.readFileSync(SHIPPED_CORE));
    expect(strays(out)).toEqual([]);
  });

  it('rewrites a site it wrote before without --force (another model), and writes into an empty directory', async () => {
    const out = fresh();
    expect((await web([out, '--model', model])).code).toBe(0);
    const other = writeRandomModel(dir, 'other.json', { seed: 52, dtype: 'float32' });
    const r = await web([out, '--model', other, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ previous: 'site', model: { path: other, dtype: 'float32' } });
    expect(fs.readFileSync(path.join(out, 'model.json'))).toEqual(fs.readFileSync(other));
    // A site written before the page was formatted (its tag ends with ">", not " />") is one too.
    const index = path.join(out, 'index.html');
    fs.writeFileSync(index, fs.readFileSync(index, 'utf8').replace(/(content="digitkit web")\s*\/>/, '$1>'));
    expect(fs.readFileSync(index, 'utf8')).toContain('<meta name="generator" content="digitkit web">');
    expect((await web([out, '--model', model])).code).toBe(0);
    const empty = fresh('empty');
    fs.mkdirSync(empty);
    expect((await web([empty, '--model', model])).code).toBe(0);
    expect(fs.readdirSync(empty).sort()).toEqual([...WITHOUT_FIXTURES].sort());
  });

  it('an invalid or missing model is exit 3 and writes nothing; an outdir that is a file is exit 2', async () => {
    const out = fresh();
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, fs.readFileSync(model, 'utf8').replace('"digitkit-mlp"', '"something-else"'));
    const r = await web([out, '--model', bad]);
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(`digitkit web: ${bad}: format is "something-else", expected "digitkit-mlp"\n`);
    expect((await web([out, '--model', path.join(dir, 'none.json')])).code).toBe(3);
    expect(fs.existsSync(out)).toBe(false);
    expect(strays(out)).toEqual([]);
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, 'x');
    const f = await web([file, '--model', model]);
    expect(f.code).toBe(2);
    expect(f.stderr).toContain(`${file}: exists and is not a directory`);
  });

  it('a write that fails halfway leaves no outdir (new) or the old site as it was (rewrite), and no staging files', async () => {
    // The third file written into the staging directory fails (reads of the model and fixtures do not count).
    const failThirdOpen = () => {
      const open = fsp.open;
      let calls = 0;
      vi.spyOn(fsp, 'open').mockImplementation(((...a: Parameters<typeof fsp.open>) => {
        if (String(a[0]).includes('.tmp-') && ++calls === 3)
          return Promise.reject(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
        return open(...a);
      }) as typeof fsp.open);
    };
    const out = fresh();
    failThirdOpen();
    await expect(writeSite({ outDir: out, model })).rejects.toThrow(`${out}: cannot write the site (ENOSPC)`);
    expect(fs.existsSync(out)).toBe(false);
    expect(strays(out)).toEqual([]);
    vi.restoreAllMocks();

    await writeSite({ outDir: out, model });
    const before = snapshot(out);
    failThirdOpen();
    await expect(writeSite({ outDir: out, model: writeRandomModel(dir, 'third.json', { seed: 53 }) })).rejects.toThrow(
      'ENOSPC',
    );
    expectUntouched(out, before);
    expect(strays(out)).toEqual([]);
  });
});

const serve = serveSite;

/** A raw request (fetch would normalise the path). */
function get(
  url: string,
  rawPath: string,
  method = 'GET',
  host?: string,
): Promise<{ status: number; type?: string; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const headers = host ? { Host: host } : {};
    const req = http.request({ host: u.hostname, port: u.port, path: rawPath, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode!,
          type: res.headers['content-type'],
          headers: res.headers,
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('digitkit web --serve', () => {
  it('serves the site on 127.0.0.1 (right types, nothing outside it, no dotfiles, the CSP as a header too); Ctrl-C stops it with exit 130', async () => {
    const out = fresh();
    const s = await serve([out, '--model', model, '--serve', '--port', '0']);
    try {
      const index = await get(s.url, '/');
      expect(index.status).toBe(200);
      expect(index.type).toBe('text/html; charset=utf-8');
      expect(index.body.toString()).toMatch(/<canvas\s+id="pad"/);
      // The header states the very policy of the page's <meta> tag.
      const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(index.body.toString());
      expect(index.headers['content-security-policy']).toBe(SITE_CSP);
      expect(meta?.[1]).toBe(SITE_CSP);
      expect(index.headers['x-content-type-options']).toBe('nosniff');
      const core = await get(s.url, `/${CORE_FILE}`);
      expect(core.type).toBe('text/javascript; charset=utf-8');
      expect(core.body).toEqual(fs.readFileSync(SHIPPED_CORE));
      expect((await get(s.url, '/model.json')).type).toBe('application/json');
      expect((await get(s.url, '/model.json', 'HEAD')).body.length).toBe(0);
      fs.writeFileSync(path.join(out, '.hidden'), 'secret');
      for (const p of ['/../package.json', '/%2e%2e/package.json', '/..%2f..%2fpackage.json', '/.hidden', '/nope.js']) {
        expect((await get(s.url, p)).status, p).toBe(404);
      }
      expect((await get(s.url, '/index.html', 'POST')).status).toBe(405);
    } finally {
      const { code, stdout } = await s.stop();
      expect(code).toBe(130);
      expect(stdout.trim().split('\n').pop()).toBe('stopped');
      expect(s.stderr()).toBe('digitkit web: interrupted\n');
    }
  });

  it('--host binds another address and warns when it is not loopback; the Host header is still checked', async () => {
    const s = await serve([fresh(), '--model', model, '--serve', '--port', '0', '--host', '0.0.0.0']);
    try {
      // stderr is a separate pipe: the warning may arrive just after the "serving" line.
      await vi.waitFor(() =>
        expect(s.stderr()).toMatch(
          /^warning: serving on 0\.0\.0\.0, not loopback: anyone who can reach this machine on port \d+ can read the site\n$/,
        ),
      );
      expect((await get(s.url, '/')).status).toBe(200);
      expect((await get(s.url, '/', 'GET', 'rebound.example')).status).toBe(403);
    } finally {
      expect((await s.stop()).code).toBe(130);
    }
    const quiet = await serve([fresh(), '--model', model, '--serve', '--port', '0', '--host', '127.0.0.2']);
    try {
      expect(quiet.url).toMatch(/^http:\/\/127\.0\.0\.2:\d+\/$/);
      expect((await get(quiet.url, '/')).status).toBe(200);
      expect(quiet.stderr()).toBe('');
    } finally {
      await quiet.stop();
    }
  });

  it('a port in use is exit 4 naming --port', async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const r = await web([fresh(), '--model', model, '--serve', '--port', String(port)]);
      expect(r.code).toBe(4);
      expect(r.stderr).toContain(
        `port ${port} on 127.0.0.1 is in use: pick another with --port, or --port 0 for any free one`,
      );
    } finally {
      busy.close();
    }
  });
});
