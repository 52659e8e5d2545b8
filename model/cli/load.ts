/** Loads events + items with the shared --skip-bad handling. */
import { buildDataset, type Dataset } from '../dataset';
import { readEvents, readItems } from '../io';
import type { Args } from './args';

export function loadDataset(a: Args): Dataset {
  const skipBad = a.flag('skip-bad');
  const ev = readEvents(a.need('events'), { skipBad });
  const it = readItems(a.need('items'), { skipBad });
  if (ev.skipped || it.skipped) process.stderr.write(`skipped ${ev.skipped} bad event rows and ${it.skipped} bad item rows\n`);
  if (!ev.rows.length) throw new Error(`${a.need('events')}: no events`);
  const ds = buildDataset(ev.rows, it.rows);
  const s = ds.summary;
  process.stderr.write(`data: ${s.users} users, ${s.items} items (${s.items_without_events} without events, ${s.event_items_missing_from_catalog} added from events), ${s.interactions} interactions, ${s.attributes} attributes\n`);
  return ds;
}
