#!/usr/bin/env node
// Shim: the CLI lives in the compiled TypeScript (npm install runs `prepare`, which builds dist/).
import { main } from '../dist/cli/main.js';
await main(process.argv);
