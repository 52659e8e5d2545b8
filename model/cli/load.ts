/** Loads events + items (streamed, model/dataset.ts `readDataset`) with the shared --skip-bad handling. */
import { type Dataset, readDataset } from '../dataset';
import { bar } from '../progress';
import type { Args } from './args';

export async function loadDataset(a: Args): Promise<Dataset> {
  const skipBad = a.flag('skip-bad');
  const { ds, skipped } = await readDataset(a.need('events'), a.need('items'), { skipBad, bar });
  if (skipped.events || skipped.items) process.stderr.write(`skipped ${skipped.events} bad event rows and ${skipped.items} bad item rows\n`);
  if (!ds.summary.events) throw new Error(`${a.need('events')}: no events`);
  const s = ds.summary;
  process.stderr.write(`data: ${s.users} users, ${s.items} items (${s.items_without_events} without events, ${s.event_items_missing_from_catalog} added from events), ${s.interactions} interactions, ${s.attributes} attributes${ds.hours ? ', hours' : ''}${ds.devices ? ', devices' : ''}\n`);
  return ds;
}
