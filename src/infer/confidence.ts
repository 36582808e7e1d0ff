/**
 * A model's own confidence threshold: `meta.minConfidence`, a number in (0, 1] (the model contract's
 * meta is free-form; digitkit reads this one field). Below it predict says "not sure" and the page
 * shows its "not sure" state. Read here, below predict and eval, which both use it.
 */
export function metaMinConfidence(meta: unknown): number | undefined {
  if (meta === null || typeof meta !== 'object' || !('minConfidence' in meta)) return undefined;
  const v = (meta as { minConfidence?: unknown }).minConfidence;
  if (typeof v === 'number' && v > 0 && v <= 1) return v;
  throw new RangeError(`meta.minConfidence ${JSON.stringify(v)}: expected a number in (0, 1]`);
}
