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

/** Pids of the workerd processes that descend from `root`. */
export function workerdPids(root: number): number[] {
  if (!existsSync('/proc')) return [];
  const all = readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .map((pid) => ({ pid, s: stat(pid) }))
    .filter((x) => x.s !== null);
  const children = new Map<number, number[]>();
  for (const { pid, s } of all) children.set(s!.ppid, [...(children.get(s!.ppid) ?? []), pid]);
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      if (all.find((x) => x.pid === c)!.s!.comm === 'workerd') out.push(c);
      walk(c);
    }
  };
  walk(root);
  return out;
}

/** Total CPU milliseconds (user + system) of the given processes so far. */
export function cpuMs(pids: number[]): number {
  return pids.reduce((sum, p) => sum + (stat(p)?.cpuMs ?? 0), 0);
}
