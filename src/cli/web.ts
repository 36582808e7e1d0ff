/**
 * `digitkit web <outdir> [--model …] [--force] [--serve [--port N]]`: write the browser demo as a
 * static site, and optionally serve it (on 127.0.0.1 unless --host says otherwise) until Ctrl-C, which stops
 * the server and exits 130 like every interrupted command.
 */
import type { Command } from 'commander';
import { DEFAULT_MODEL, isShipped, orShipped, shippedLine } from '../node/paths.js';
import { int } from '../format.js';
import { InterruptedError } from '../errors.js';
import { handler } from './context.js';
import { intOption } from './options.js';

interface Opts {
  model?: string;
  fixtures?: string;
  force?: boolean;
  serve?: boolean;
  port: number;
  host: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('web')
    .description('Write the browser demo (draw a digit, see what the shipped core predicts) as a static site')
    .argument('<outdir>', 'directory to write (new, empty, or a site written before; anything else needs --force)')
    .option('--model <file>', `model the page loads ${orShipped(DEFAULT_MODEL)}`)
    .option(
      '--fixtures <file>',
      "parity fixtures for the page's self-test, made for the model (default: fixtures/parity.json if it was)",
    )
    .option(
      '--force',
      'write into a non-empty directory that is not a digitkit site (same-named files are replaced, others kept)',
    )
    .option('--serve', 'then serve the site until Ctrl-C (exit 130)')
    .option('--port <n>', 'port for --serve (0: any free port)', intOption, 8000)
    .option(
      '--host <address>',
      'address --serve binds; anything but loopback makes the site readable from other machines',
      '127.0.0.1',
    )
    .option('--json', 'print one JSON document')
    .action(
      handler<Opts>(async (opts, ctx, args) => {
        const { writeSite } = await import('../web/site.js');
        // Checked before the site is written: a bad --port must not leave a site behind for nothing.
        if (opts.serve) (await import('../node/static-server.js')).validatePort(opts.port);
        const outDir = args[0];
        const r = await writeSite({ outDir, model: opts.model, fixtures: opts.fixtures, force: opts.force });
        const { color } = ctx;
        const t = r.selfTest;
        ctx.out(
          `wrote ${outDir}: ${r.files.length} files; a browser loads ${int(r.loads.wasm)} bytes with wasm SIMD, ${int(r.loads.core)} without (the page budgets are ${int(r.wasmBudgetBytes)} and ${int(r.budgetBytes)} with the int8 model)` +
            (t.fixtures ? `, and fixtures.json for the self-test` : ''),
        );
        const width = Math.max(...r.files.map((f) => f.name.length));
        for (const f of r.files) {
          const note =
            f.name === 'digitkit-core.js'
              ? `  (${int(r.coreGzipBytes)} gzipped; dist/core/index.js as shipped; loaded without wasm SIMD)`
              : f.name === 'digitkit-core-wasm.js'
                ? `  (${int(r.coreWasmGzipBytes)} gzipped; dist/core-wasm/index.js as shipped; loaded with wasm SIMD)`
                : f.name === 'digitkit-explain.js'
                  ? `  (${int(r.explainGzipBytes)} gzipped; dist/explain/index.js as shipped)`
                  : f.name === 'model.json'
                    ? `  (${r.model.path}, ${r.model.dtype})`
                    : f.name === 'fixtures.json' && t.fixtures
                      ? `  (${t.fixtures}, ${t.cases} cases; loaded by the self-test only, budget ${int(t.budgetBytes)})`
                      : '';
          ctx.out(`  ${f.name.padEnd(width)}  ${int(f.bytes).padStart(9)}${color.dim(note)}`);
        }
        // The package's own files, used because the working directory has none: said in text and --json.
        const shipped = [
          ...(opts.model === undefined ? [r.model.path] : []),
          ...(t.fixtures && opts.fixtures === undefined ? [t.fixtures] : []),
        ].filter(isShipped);
        if (shipped.length) ctx.out(color.dim(`shipped: ${shippedLine(shipped)}`));
        const over = Math.max(r.loads.core - r.budgetBytes, r.loads.wasm - r.wasmBudgetBytes);
        if (over > 0) ctx.out(color.yellow(`${int(over)} bytes over the page budget (is the model int8?)`));
        if (t.fixtures === null)
          ctx.out(
            color.yellow(
              `no self-test on the page: ${t.reason} (make fixtures with \`digitkit fixtures --model ${r.model.path} --out F\`, then pass --fixtures F)`,
            ),
          );
        if (!opts.serve) {
          ctx.out(
            color.dim(
              `open it through any static web server (browsers do not run modules from file://), e.g. \`digitkit web ${outDir} --serve\``,
            ),
          );
          return { json: shipped.length ? { ...r, shipped } : r };
        }

        const { startStaticServer, isLoopback } = await import('../node/static-server.js');
        const { SITE_CSP } = await import('../web/site.js');
        const signal = ctx.handleInterrupt();
        const server = await startStaticServer(outDir, {
          port: opts.port,
          host: opts.host,
          headers: { 'Content-Security-Policy': SITE_CSP },
        });
        if (!isLoopback(opts.host))
          ctx.err(
            color.yellow(
              `warning: serving on ${opts.host}, not loopback: anyone who can reach this machine on port ${server.port} can read the site`,
            ),
          );
        // Under --json the document (with the URL) goes out now, not when the server stops.
        ctx.emit({ ...r, ...(shipped.length && { shipped }), url: server.url });
        ctx.out(`serving ${outDir} at ${color.bold(server.url)} (Ctrl-C stops)`);
        await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
        await server.close();
        ctx.out('stopped');
        throw new InterruptedError();
      }),
    );
}
