/**
 * V8 heap figures of the worker under `wrangler dev`, read through wrangler's inspector proxy
 * (the DevTools protocol): the memory our code holds, apart from workerd's own.
 */
export interface HeapUsage {
  /** Bytes of live JS objects (V8 `usedSize`). */
  used: number;
  /** Bytes the JS heap has reserved (`totalSize`). */
  total: number;
  /** ArrayBuffer and WebAssembly memory outside the JS heap (`backingStorageSize`). */
  backing: number;
}

export interface Inspector {
  heap(): Promise<HeapUsage | null>;
  close(): void;
}

export async function connectInspector(port: number): Promise<Inspector> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  if (!targets[0]) throw new Error('the inspector lists no worker');
  // The proxy accepts only local DevTools origins; Node's WebSocket sends none by itself.
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl, { headers: { Origin: 'http://localhost' } } as unknown as string[]);
  const pending = new Map<number, (r: unknown) => void>();
  let id = 0;
  ws.addEventListener('message', (m: MessageEvent) => {
    const d = JSON.parse(String(m.data)) as { id?: number; result?: unknown };
    if (d.id !== undefined) pending.get(d.id)?.(d.result);
    if (d.id !== undefined) pending.delete(d.id);
  });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    ws.addEventListener('error', () => reject(new Error('inspector WebSocket refused')));
  });
  return {
    heap: () =>
      new Promise((resolve) => {
        if (ws.readyState !== WebSocket.OPEN) return resolve(null);
        const i = ++id;
        const timer = setTimeout(() => (pending.delete(i), resolve(null)), 5000);
        pending.set(i, (r) => {
          clearTimeout(timer);
          const u = r as { usedSize: number; totalSize: number; backingStorageSize?: number } | undefined;
          resolve(u ? { used: u.usedSize, total: u.totalSize, backing: u.backingStorageSize ?? 0 } : null);
        });
        // Collect garbage first, so "used" is what the isolate holds, not what it has yet to free.
        ws.send(JSON.stringify({ id: ++id, method: 'HeapProfiler.collectGarbage' }));
        ws.send(JSON.stringify({ id: i, method: 'Runtime.getHeapUsage' }));
      }),
    close: () => ws.close(),
  };
}
