/**
 * CPU time spent by the workerd processes under a `wrangler dev` process (Linux /proc), so a
 * bench can report CPU per request: on a shared machine latency is noisy, CPU per request much
 * less so. Elsewhere (no /proc) it reports nothing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_S = 100; // USER_HZ on Linux

function stat(pid: number): { ppid: number; comm: string; cpuMs: number } | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')');
    const comm = s.slice(s.indexOf('(') + 1, close);
    const f = s.slice(close + 2).split(' ');
    // fields after "(comm)": state ppid ... utime(14th overall -> index 11) stime(index 12)
    return { ppid: Number(f[1]), comm, cpuMs: ((Number(f[11]) + Number(f[12])) * 1000) / TICKS_PER_S };
  } catch {
    return null;
  }
}

/** CPU milliseconds so far of each workerd process that descends from `root`. */
export function workerdCpu(root: number): Map<number, number> {
  const out = new Map<number, number>();
  if (!existsSync('/proc')) return out;
  const all = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map((d) => ({ pid: Number(d), s: stat(Number(d)) }))
    .filter((x): x is { pid: number; s: NonNullable<ReturnType<typeof stat>> } => x.s !== null);
  const children = new Map<number, typeof all>();
  for (const x of all) children.set(x.s.ppid, [...(children.get(x.s.ppid) ?? []), x]);
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      if (c.s.comm === 'workerd') out.set(c.pid, c.s.cpuMs);
      walk(c.pid);
    }
  };
  walk(root);
  return out;
}

/**
 * CPU milliseconds spent between two snapshots; NaN when a process of the first is gone (workerd
 * restarted: its time is lost) or there is nothing to measure.
 */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  if (!before.size) return NaN;
  let ms = 0;
  for (const [pid, t] of after) ms += t - (before.get(pid) ?? 0);
  for (const pid of before.keys()) if (!after.has(pid)) return NaN;
  return ms;
}

/**
 * The workerd of `wrangler dev`'s own proxy (it listens on the public port and forwards to the
 * worker's workerd, for live reload): production has no such hop, so benches report its share.
 */
export function devProxyPid(pids: Iterable<number>, port: number): number | null {
  for (const pid of pids) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`entry=127.0.0.1:${port}\0`)) return pid;
    } catch {
      // gone
    }
  }
  return null;
}
