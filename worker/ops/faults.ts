/**
 * Recent dependency failures as this isolate saw them, for /v1/admin/health: the request paths
 * that degrade quietly (a session object that throws or is slow, a model that fails to score,
 * an origin that does not answer) note each failure here, so health can say what is degraded
 * and since when. Per isolate and in memory: a hint for operators, not a metric (metrics carry
 * the fallback and error rates across isolates).
 */
export type Dependency = 'session_object' | 'inference' | 'origin';

/** A dependency counts as failing in health while its last failure is younger than this. */
export const FAULT_WINDOW_MS = 5 * 60_000;

interface Fault {
  count: number;
  first_at: number;
  last_at: number;
  last_error: string;
}

const faults = new Map<Dependency, Fault>();

export function noteFault(dep: Dependency, error: string): void {
  const now = Date.now();
  const f = faults.get(dep);
  if (f && now - f.last_at < FAULT_WINDOW_MS) Object.assign(f, { count: f.count + 1, last_at: now, last_error: error });
  else faults.set(dep, { count: 1, first_at: now, last_at: now, last_error: error });
}

/** Dependencies that failed within the window, with how often and the last error. */
export function recentFaults(now = Date.now()): Partial<Record<Dependency, Fault>> {
  const out: Partial<Record<Dependency, Fault>> = {};
  for (const [dep, f] of faults) if (now - f.last_at < FAULT_WINDOW_MS) out[dep] = { ...f };
  return out;
}
