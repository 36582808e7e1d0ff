/** `verify --runtime node` (the default): this Node.js process imports the module itself. */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runJob } from './run-cases.js';
import { outputOf, type RuntimeAdapter } from './runtime.js';

export const adapter: RuntimeAdapter = {
  name: 'node',
  find: () => undefined,
  open: async () => {
    const version = `Node.js ${process.versions.node}`;
    return {
      name: 'node',
      version,
      loadsModule: true,
      async run(job) {
        const coreUrl = pathToFileURL(path.resolve(job.module)).href;
        const result = await runJob({
          coreUrl,
          modelText: job.modelText,
          source: job.source,
          inputs: job.inputs,
          values: job.values,
        });
        return outputOf(result, job.module, version);
      },
      close: async () => undefined,
    };
  },
};
