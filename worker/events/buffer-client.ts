/**
 * Reaching the event buffer (worker/events/buffer.ts): BUFFER_SHARDS objects, a batch held by the
 * shard of its first message's claim, so an outage of the queue does not funnel every request of
 * every isolate into one object. Reads, drains and erasure go to every shard. Shard 0 keeps the
 * name of the former single object, so messages it still holds are drained as before.
 */
import { fnv1a } from '../lib/fnv';
import type { BufferStatus, DrainResult, EventBuffer } from './buffer';
import type { EventRow } from '../db/schema';
import type { EventMessage } from './message';

export const BUFFER_SHARDS = 16;

export function bufferShard(env: Env, shard: number): DurableObjectStub<EventBuffer> {
  return env.EVENT_BUFFER.get(env.EVENT_BUFFER.idFromName(shard === 0 ? 'events' : `events-${shard}`));
}

const all = <T>(env: Env, call: (s: DurableObjectStub<EventBuffer>) => Promise<T>): Promise<T[]> =>
  Promise.all(Array.from({ length: BUFFER_SHARDS }, (_, i) => call(bufferShard(env, i))));

/** The buffer as one: the same calls as the object, spread over the shards. */
export function bufferStub(env: Env) {
  return {
    hold: (messages: EventMessage[]): Promise<number> => bufferShard(env, fnv1a(messages[0]?.claim ?? '') % BUFFER_SHARDS).hold(messages),
    status: async (): Promise<BufferStatus> => {
      const parts = (await all(env, (s) => s.status())) as BufferStatus[];
      const oldest = parts.map((p) => p.oldest_buffered_at).filter((t): t is number => t !== null);
      return {
        pending: parts.reduce((n, p) => n + p.pending, 0),
        oldest_buffered_at: oldest.length ? Math.min(...oldest) : null,
        failed_attempts: Math.max(0, ...parts.map((p) => p.failed_attempts)),
        last_error: parts.find((p) => p.last_error)?.last_error ?? null,
      };
    },
    drain: async (): Promise<DrainResult> => {
      const parts = (await all(env, (s) => s.drain())) as DrainResult[];
      const error = parts.find((p) => p.error)?.error;
      return { stored: parts.reduce((n, p) => n + p.stored, 0), duplicates: parts.reduce((n, p) => n + p.duplicates, 0), pending: parts.reduce((n, p) => n + p.pending, 0), ...(error ? { error } : {}) };
    },
    erase: async (userKey: string | null, sessionKeys: string[]): Promise<number> => ((await all(env, (s) => s.erase(userKey, sessionKeys))) as number[]).reduce((a, b) => a + b, 0),
    heldFor: async (userKey: string | null, sessionKeys: string[]): Promise<EventRow[]> => ((await all(env, (s) => s.heldFor(userKey, sessionKeys))) as EventRow[][]).flat(),
  };
}
