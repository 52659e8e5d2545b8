/**
 * CPU profile of the worker under load, taken inside workerd through wrangler's inspector
 * (Chrome DevTools protocol, Profiler domain). performance.now() in workerd only advances on I/O,
 * so Server-Timing cannot show where synchronous CPU goes; a sampling profile can.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

async function connect(inspectorPort: number): Promise<{ send: (method: string, params?: object) => Promise<any>; close: () => void }> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { webSocketDebuggerUrl: string; title?: string; id?: string }[];
  // wrangler's inspector proxy lists the user worker; take the first target.
  // workerd's inspector insists on an Origin header (Node's WebSocket takes headers as an extension).
  const ws = new WebSocket(targets[0]!.webSocketDebuggerUrl, { headers: { origin: `http://127.0.0.1:${inspectorPort}` } } as unknown as string[]);
  await new Promise((res, rej) => {
    ws.addEventListener('open', res, { once: true });
    ws.addEventListener('error', rej, { once: true });
  });
  // wrangler's inspector proxy renumbers message ids, so commands go one at a time and the
  // next reply (a message with an id) answers the pending one.
  let next = 1;
  let pending: ((v: any) => void) | undefined;
  ws.addEventListener('message', (ev) => {
    const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: unknown };
    if (msg.id === undefined || !pending) return;
    const done = pending;
    pending = undefined;
    done(msg.error ? Promise.reject(new Error(JSON.stringify(msg.error))) : msg.result);
  });
  return {
    send: (method, params = {}) =>
      new Promise((res) => {
        pending = res;
        ws.send(JSON.stringify({ id: next++, method, params }));
      }),
    close: () => ws.close(),
  };
}

/** Profile the worker while `load` runs; returns per-function self time and writes the raw .cpuprofile. */
export async function profileDuring(inspectorPort: number, load: () => Promise<number>, outFile: string, bundleFile?: string): Promise<string> {
  const cdp = await connect(inspectorPort);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
  await cdp.send('Profiler.start');
  const requests = await load();
  const { profile } = (await cdp.send('Profiler.stop')) as { profile: Profile };
  cdp.close();
  writeFileSync(outFile, JSON.stringify(profile));
  return summarize(profile, requests, bundleFile && existsSync(bundleFile) ? readFileSync(bundleFile, 'utf8') : undefined);
}

/**
 * Self and inclusive share of the samples per function, and samples per request. Counts, not
 * the samples' time deltas: on a busy machine a descheduled thread makes the next sample's delta
 * long, which charges wall time to whatever frame ran; counts follow CPU time more closely.
 * `source` (the bundle wrangler ran) names anonymous functions by their first line.
 */
export function summarize(p: Profile, requests: number, source?: string, top = 30): string {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const count = new Map<number, number>();
  for (const s of p.samples) count.set(s, (count.get(s) ?? 0) + 1);
  const lines = source?.split('\n');
  const key = (n: Node) => {
    const f = n.callFrame;
    if (f.url.startsWith('wasm')) return '(onnxruntime wasm)';
    const where = f.url ? `${f.url.split('/').pop()}:${f.lineNumber + 1}` : '(native)';
    const name = f.functionName || `(anonymous) ${lines?.[f.lineNumber]?.trim().slice(0, 60) ?? ''}`;
    return `${name} ${where}`;
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let idle = 0;
  for (const [id, c] of count) {
    const n = byId.get(id)!;
    if (n.callFrame.functionName === '(idle)') idle += c;
    self.set(key(n), (self.get(key(n)) ?? 0) + c);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = key(byId.get(cur)!);
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + c);
    }
  }
  const busy = p.samples.length - idle;
  const interval = (p.endTime - p.startTime) / p.samples.length;
  const row = ([k, c]: [string, number]) => `${((100 * c) / busy).toFixed(1).padStart(6)}%  ${((c * interval) / requests).toFixed(0).padStart(6)}  ${k}`;
  return [
    `${p.samples.length} samples (one per ${interval.toFixed(0)} µs of wall time), ${idle} idle; ${requests} requests => ${(busy / requests).toFixed(2)} busy samples per request`,
    '  self   µs/req  function',
    ...[...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(row),
    '  inclusive µs/req  function',
    ...[...total.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(row),
  ].join('\n');
}
