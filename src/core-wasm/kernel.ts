/**
 * The forward kernel's bytes (src/core-wasm/wasm/forward.ts compiled by asc), base64. Empty in the
 * sources: scripts/build.mjs puts the compiled kernel here when it bundles dist/core-wasm/index.js, so
 * the shipped module carries its WebAssembly inline and imports nothing.
 */
export const KERNEL_BASE64: string = '';
