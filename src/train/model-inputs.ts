/**
 * The model files a training run may read besides the data: a teacher to distill from, and a model
 * whose weights the run starts from (--init, as quantization-aware fine-tuning does). Both become
 * float32 parameters in the trainer's flat layout (params.ts); problems with the files are exit 3,
 * a shape that does not fit the run is exit 2.
 */
import path from 'node:path';
import type { Model } from '../core/index.js';
import { usageError } from '../errors.js';
import { readModelFile } from '../node/model-file.js';
import type { ModelRef, TeacherConfig } from './config.js';
import { layerViews, paramLayout } from './params.js';

export interface LoadedWeights {
  ref: ModelRef;
  sizes: number[];
  /** The model's weights and biases as float32, laid out by paramLayout(sizes). */
  params: Float32Array;
}

/** A model's layer sizes: input, then each layer's outputs. */
export const sizesOf = (m: Pick<Model, 'layers'>) => [m.layers[0].rows, ...m.layers.map((l) => l.cols)];

/** Read a model file's weights (run.ts checks that it takes the data's inputs and gives its classes). */
async function readWeights(file: string, role: string): Promise<LoadedWeights> {
  const m = await readModelFile(file, `no such ${role} model`);
  const sizes = sizesOf(m.model);
  const layout = paramLayout(sizes);
  const params = new Float32Array(layout.count);
  layerViews(params, layout).forEach((v, k) => {
    v.w.set(m.model.layers[k].w);
    v.b.set(m.model.layers[k].b);
  });
  return { ref: { file: path.basename(file), sha256: m.sha256 }, sizes, params };
}

export async function readTeacher(
  file: string,
  temperature: number,
  alpha: number,
): Promise<{ config: TeacherConfig; params: Float32Array }> {
  const t = await readWeights(file, 'teacher');
  return { config: { ...t.ref, sizes: t.sizes, temperature, alpha }, params: t.params };
}

/** The --init model; its shape must be the run's (`sizes`, when --hidden was given). */
export async function readInit(file: string, sizes?: number[]): Promise<LoadedWeights> {
  const w = await readWeights(file, 'initial');
  if (sizes && w.sizes.join('-') !== sizes.join('-'))
    throw usageError(
      `--init ${file} is ${w.sizes.join('-')}, --hidden ${sizes.slice(1, -1).join(',')} makes ${sizes.join('-')}: the shapes must match (drop --hidden to take the model's)`,
    );
  return w;
}
