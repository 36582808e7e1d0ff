#!/usr/bin/env node
// Shim: the CLI lives in the compiled TypeScript (npm install runs `prepare`, which builds dist/).
// `digitkit predict …` and `digitkit --version` start from one bundled file (dist/cli/hot.js, see
// src/cli/hot.ts); every other command from the compiled modules.
const hot = ['predict', '-V', '--version'].includes(process.argv[2]);
const { main } = await import(hot ? '../dist/cli/hot.js' : '../dist/cli/main.js');
await main(process.argv);
