/** The runtimes `verify` knows, each adapter loaded only when asked for. */
import type { RuntimeAdapter, RuntimeName } from './runtime.js';

export { RUNTIME_NAMES, type Runtime, type RuntimeAdapter, type RuntimeJob, type RuntimeName } from './runtime.js';

export const ADAPTERS: Record<RuntimeName, () => Promise<RuntimeAdapter>> = {
  node: async () => (await import('./node.js')).adapter,
  chromium: async () => (await import('./chromium.js')).adapter,
  firefox: async () => (await import('./firefox.js')).adapter,
  deno: async () => (await import('./deno.js')).adapter,
  bun: async () => (await import('./bun.js')).adapter,
  onnxruntime: async () => (await import('./onnxruntime.js')).adapter,
};
