/**
 * The worker's R2 event log (worker/events/log-store.ts) as a local run wrote it: read through
 * wrangler's platform proxy on the same persisted state as `wrangler dev --persist-to`. For tests
 * and load runs that check what arrived; log objects never change once written, so each is read once.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ROOT } from './wrangler';
import { LOG_PREFIX, parseLog } from '../../worker/events/log-store';
import type { ExportedEvent } from '../../worker/ops/export';

export interface LocalEventLog {
  /** Every event in the log so far. */
  events(): Promise<ExportedEvent[]>;
  close(): Promise<void>;
}

/**
 * A config with the log's bucket only: a proxy with the worker's Durable Object bindings would also
 * try to run the objects' alarms found in the shared state, which it cannot (no classes).
 */
function readerConfig(): string {
  const file = resolve(ROOT, '.tmp/event-log-reader.wrangler.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify({ name: 'event-log-reader', compatibility_date: '2026-08-01', r2_buckets: [{ binding: 'EXPORTS', bucket_name: 'p13n-exports' }] }));
  return file;
}

export async function openLocalEventLog(persistTo: string): Promise<LocalEventLog> {
  const { getPlatformProxy } = await import('wrangler');
  const proxy = await getPlatformProxy<{ EXPORTS: R2Bucket }>({ configPath: readerConfig(), persist: { path: join(persistTo, 'v3') }, remoteBindings: false });
  const read = new Map<string, ExportedEvent[]>();
  return {
    async events() {
      let cursor: string | undefined;
      do {
        const page = await proxy.env.EXPORTS.list({ prefix: LOG_PREFIX, cursor });
        for (const o of page.objects) {
          if (read.has(o.key)) continue;
          const body = await proxy.env.EXPORTS.get(o.key);
          if (!body) continue;
          const text = await new Response(body.body.pipeThrough(new DecompressionStream('gzip'))).text();
          read.set(o.key, parseLog(text));
        }
        cursor = page.truncated ? page.cursor : undefined;
      } while (cursor);
      return [...read.values()].flat();
    },
    close: () => proxy.dispose(),
  };
}
