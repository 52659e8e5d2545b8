/** Reaching the event buffer (one object per deployment; it only sees traffic while D1 fails). */
import type { EventBuffer } from './buffer';

export function bufferStub(env: Env): DurableObjectStub<EventBuffer> {
  return env.EVENT_BUFFER.get(env.EVENT_BUFFER.idFromName('events'));
}
