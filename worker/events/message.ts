/**
 * The queue message that carries accepted events from POST /v1/events to the consumer
 * (worker/events/consumer.ts). One message holds one request's events, sorted by session, cut
 * into parts of at most MESSAGE_ROWS rows / MESSAGE_BYTES. `claim` is a fresh id per message: the
 * session objects record which claim first took each event_id (dedupe), and the R2 log object of
 * the message is named by it, so a redelivery rewrites the same object with the same rows.
 */
import type { EventRow } from '../db/schema';
import { base64url } from '../identity/pseudonym';

export interface EventMessage {
  v: 1;
  claim: string;
  /** when the worker accepted the events (ms); picks the log partition, so it is fixed per message */
  receivedAt: number;
  rows: EventRow[];
}

/** Queue limits: 128 KB per message, 100 messages and 256 KB per sendBatch; stay well inside. */
export const MESSAGE_ROWS = 100;
const MESSAGE_BYTES = 96_000;
const SEND_BATCH_BYTES = 200_000;
const SEND_BATCH_MESSAGES = 100;

/** 128 random bits as 22 base64url characters (a UUID's 36 would add 14 bytes to every manifest key). */
function newClaim(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}

/** A request's rows as messages: grouped by session (sorted), then cut by size. */
export function toMessages(rows: EventRow[], receivedAt: number): EventMessage[] {
  const sorted = [...rows].sort((a, b) => (a.sessionKey < b.sessionKey ? -1 : a.sessionKey > b.sessionKey ? 1 : a.ts - b.ts));
  const out: EventMessage[] = [];
  let cur: EventRow[] = [];
  let bytes = 0;
  const close = () => {
    if (cur.length) out.push({ v: 1, claim: newClaim(), receivedAt, rows: cur });
    cur = [];
    bytes = 0;
  };
  for (const r of sorted) {
    const size = JSON.stringify(r).length + 1;
    if (cur.length >= MESSAGE_ROWS || bytes + size > MESSAGE_BYTES) close();
    cur.push({ ...r, receivedAt });
    bytes += size;
  }
  close();
  return out;
}

/** Send messages durably: resolves once the queue has every one (sendBatch in size-bounded calls). */
export async function enqueue(queue: Queue, messages: EventMessage[]): Promise<void> {
  // One message (any request of ≤ MESSAGE_ROWS events) is within the limits by construction.
  if (messages.length === 1) {
    await queue.send(messages[0]!, { contentType: 'json' });
    return;
  }
  let part: MessageSendRequest<EventMessage>[] = [];
  let bytes = 0;
  const sends: Promise<unknown>[] = [];
  for (const m of messages) {
    const size = JSON.stringify(m).length;
    if (part.length >= SEND_BATCH_MESSAGES || (part.length && bytes + size > SEND_BATCH_BYTES)) {
      sends.push(queue.sendBatch(part));
      part = [];
      bytes = 0;
    }
    part.push({ body: m, contentType: 'json' });
    bytes += size;
  }
  if (part.length) sends.push(queue.sendBatch(part));
  await Promise.all(sends);
}
