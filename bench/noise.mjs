// How busy the rest of the machine was while a benchmark round ran, and rounds re-run when it was.
// (Not a benchmark: bench.mjs runs *.bench.mjs.)
//
// Other processes' CPU time during a round = the machine's busy time (/proc/stat, all CPUs) minus this
// process's own (process.cpuUsage(), every thread of it) and its finished children's (/proc/self/stat:
// a benchmark that times commands it spawns), as a share of the CPUs over the round's wall
// time. A round during which others took more than NOISY of the machine straddled a burst: it is run
// again (up to RETRIES times) and the quietest attempt kept. Without /proc/stat (not Linux) the load
// average is all there is to report.
import fs from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';

const CPUS = os.availableParallelism();
/** Others' share of the machine above which a round is run again. */
export const NOISY = 0.05;
const RETRIES = 4;
const TICK_MS = 10; // USER_HZ = 100 on Linux

/** Busy milliseconds of all CPUs so far (user + nice + system + irq + softirq + steal), or null. */
function machineBusyMs() {
  try {
    const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = f;
    return (user + nice + system + irq + softirq + (steal ?? 0)) * TICK_MS;
  } catch {
    return null;
  }
}

/** CPU milliseconds of this process's children that have ended (cutime + cstime), or 0. */
function childrenCpuMs() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) * TICK_MS; // fields 16 and 17 of proc(5)
  } catch {
    return 0;
  }
}

/** Start watching the machine; the returned function ends the watch: { value, ms, others }. */
function watch() {
  const busy0 = machineBusyMs();
  const children0 = childrenCpuMs();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  return (value) => {
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const busy1 = machineBusyMs();
    const others =
      busy0 === null || busy1 === null
        ? NaN
        : Math.max(0, busy1 - busy0 - (cpu.user + cpu.system) / 1000 - (childrenCpuMs() - children0)) / (ms * CPUS);
    return { value, ms, others };
  };
}

/**
 * Time `fn` once, with how much of the machine others used meanwhile (0..1; NaN when unknown).
 * `fn` returns what it measured (e.g. images/s); `ms` is its wall time.
 */
export function observe(fn) {
  const done = watch();
  return done(fn());
}

/** The same for an async `fn`. */
export async function observeAsync(fn) {
  const done = watch();
  return done(await fn());
}

/** A run of rounds: each round re-run while others took more than NOISY of the machine (up to RETRIES). */
export class Rounds {
  constructor() {
    this.kept = [];
    this.reruns = 0;
  }
  /** One round of `fn` (sync or async); returns the kept attempt's value. */
  async round(fn) {
    let best = null;
    for (let attempt = 0; attempt <= RETRIES; attempt++) {
      const r = await observeAsync(fn);
      if (!best || !(r.others >= best.others)) best = r;
      if (!(r.others > NOISY)) break;
      if (attempt < RETRIES) this.reruns++;
    }
    this.kept.push(best);
    return best.value;
  }
  /** "others used 1.2% of the CPUs (max 3.4%), 2 rounds re-run". */
  summary() {
    const o = this.kept.map((k) => k.others).filter((x) => !Number.isNaN(x));
    if (!o.length) return `load average ${os.loadavg()[0].toFixed(2)} (no /proc/stat: others' share unknown)`;
    const mean = o.reduce((a, b) => a + b, 0) / o.length;
    const noisy = o.filter((x) => x > NOISY).length;
    return (
      `others used ${(mean * 100).toFixed(1)}% of the ${CPUS} CPUs (max ${(Math.max(...o) * 100).toFixed(1)}%), ` +
      `${this.reruns} attempt${this.reruns == 1 ? '' : 's'} re-run${noisy ? `, ${noisy} round${noisy == 1 ? '' : 's'} still noisy` : ''}`
    );
  }
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
