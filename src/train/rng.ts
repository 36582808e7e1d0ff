/**
 * The one seeded PRNG behind initialisation, shuffling and augmentation: sfc32 (Chris Doty-Humphrey's
 * Small Fast Counting generator, 128-bit state, passes PractRand), in 32-bit integer arithmetic so it
 * gives the same stream on every engine. Its state is four uint32s: `state()` / `Rng.fromState()`
 * round-trip it exactly, which is what a checkpoint stores.
 */
export type RngState = [number, number, number, number];

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  private constructor(s: RngState) {
    [this.a, this.b, this.c, this.d] = s.map((x) => x >>> 0);
  }

  /** Seed via splitmix32 (so nearby seeds give unrelated streams), then discard 12 outputs as sfc32's authors advise. */
  static fromSeed(seed: number): Rng {
    let x = seed >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    const rng = new Rng([next(), next(), next(), 1]);
    for (let i = 0; i < 12; i++) rng.nextU32();
    return rng;
  }

  static fromState(s: readonly number[]): Rng {
    if (s.length !== 4 || s.some((v) => !Number.isInteger(v) || v < 0 || v > 0xffffffff))
      throw new Error('PRNG state must be four uint32 values');
    return new Rng(s.slice() as RngState);
  }

  state(): RngState {
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0];
  }

  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 32 random bits. */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Integer in [0, n) (n ≤ 2^32; the bias of the multiply method is below n / 2^32). */
  int(n: number): number {
    return Math.floor((this.nextU32() * n) / 4294967296);
  }

  /** Standard normal by Box–Muller (one of the pair is used, so the state stays four numbers). */
  normal(): number {
    const u = 1 - this.uniform(); // (0, 1]: log is finite
    const v = this.uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** Fisher–Yates shuffle of `a` in place. */
  shuffle(a: Int32Array | Uint32Array, n = a.length): void {
    for (let i = n - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
}
