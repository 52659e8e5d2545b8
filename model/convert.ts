/**
 * Converters from public data set formats to the pipeline's input formats.
 *  - S3-Rec "Amazon" format: `<name>.txt` with one line per user `user_id item_1 item_2 …` in time order,
 *    plus optional `<name>_item2attributes.json` {"item_id": [attribute ids]}. The position in the line is
 *    the timestamp; attribute ids become tags `a<id>`.
 *  - MovieLens 100K: `u.data` (user \t item \t rating \t unix_ts) and `u.item` (pipe-separated, latin-1,
 *    last 19 fields are genre flags). Genres become tags, the first genre the category, the release
 *    year's decade a `decade:` tag.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DataError, type EventRow, type ItemRow } from './io';

export interface Converted {
  events: EventRow[];
  items: ItemRow[];
  skipped: number;
}

function numericAware(a: string, b: string): number {
  const na = /^\d+$/.test(a);
  const nb = /^\d+$/.test(b);
  if (na && nb) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  return a < b ? -1 : a > b ? 1 : 0;
}

export function convertAmazon(seqText: string, attrsJson: string | undefined, file = 'sequences', attrFile = 'item2attributes', skipBad = false): Converted {
  const events: EventRow[] = [];
  const itemSet = new Set<string>();
  const seenUsers = new Set<string>();
  let skipped = 0;
  const lines = seqText.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i]!.trim();
    if (!s) continue;
    try {
      const parts = s.split(/\s+/);
      if (parts.length < 2) throw new DataError(file, i + 1, `expected "user_id item_1 item_2 …", got a line with ${parts.length} field(s)`);
      const user = parts[0]!;
      if (seenUsers.has(user)) throw new DataError(file, i + 1, `user "${user}" appears on more than one line`);
      for (const it of parts.slice(1)) if (/[,"{}[\]]/.test(it)) throw new DataError(file, i + 1, `suspicious item id "${it}" (not a whitespace-separated list of ids?)`);
      seenUsers.add(user);
      parts.slice(1).forEach((it, pos) => {
        events.push({ user, item: it, ts: pos, type: 'purchase' });
        itemSet.add(it);
      });
    } catch (e) {
      if (!(e instanceof DataError) || !skipBad) throw e;
      skipped++;
    }
  }
  if (!events.length) throw new DataError(file, 1, 'no interactions found (expected lines "user_id item_1 item_2 …")');
  let attrs: Record<string, unknown> = {};
  if (attrsJson !== undefined) {
    try {
      const parsed = JSON.parse(attrsJson) as unknown;
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('expected an object {"item_id": [attribute ids]}');
      attrs = parsed as Record<string, unknown>;
    } catch (e) {
      throw new DataError(attrFile, 1, `invalid attributes JSON: ${(e as Error).message}`);
    }
  }
  for (const id of Object.keys(attrs)) itemSet.add(id);
  const items: ItemRow[] = [...itemSet].sort(numericAware).map((id) => {
    const a = attrs[id];
    if (a !== undefined && !Array.isArray(a)) throw new DataError(attrFile, 1, `attributes of item "${id}" must be an array`);
    return { id, tags: ((a as unknown[] | undefined) ?? []).map((x) => `a${String(x)}`) };
  });
  return { events, items, skipped };
}

export const ML_GENRES = [
  'unknown', 'Action', 'Adventure', 'Animation', "Children's", 'Comedy', 'Crime', 'Documentary', 'Drama', 'Fantasy',
  'Film-Noir', 'Horror', 'Musical', 'Mystery', 'Romance', 'Sci-Fi', 'Thriller', 'War', 'Western',
];

export function convertMovieLens(dataText: string, itemBytes: Uint8Array | undefined, dataFile = 'u.data', itemFile = 'u.item', skipBad = false): Converted {
  const events: EventRow[] = [];
  let skipped = 0;
  const lines = dataText.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const s = lines[i]!.trim();
    if (!s) continue;
    try {
      const f = s.split('\t');
      if (f.length !== 4) throw new DataError(dataFile, i + 1, `expected 4 tab-separated fields (user item rating timestamp), got ${f.length}`);
      const ts = Number(f[3]);
      if (!Number.isFinite(ts)) throw new DataError(dataFile, i + 1, `timestamp is not a number: "${f[3]}"`);
      if (!f[0] || !f[1]) throw new DataError(dataFile, i + 1, 'empty user or item id');
      events.push({ user: f[0], item: f[1], ts, type: 'purchase', value: Number(f[2]) });
    } catch (e) {
      if (!(e instanceof DataError) || !skipBad) throw e;
      skipped++;
    }
  }
  if (!events.length) throw new DataError(dataFile, 1, 'no ratings found');
  const items: ItemRow[] = [];
  const ids = new Set<string>();
  if (itemBytes) {
    const text = new TextDecoder('latin1').decode(itemBytes);
    const ls = text.split(/\r?\n/);
    for (let i = 0; i < ls.length; i++) {
      const s = ls[i]!;
      if (!s.trim()) continue;
      try {
        const f = s.split('|');
        if (f.length < 5 + 19) throw new DataError(itemFile, i + 1, `expected 24 pipe-separated fields (id|title|release|video|url|19 genre flags), got ${f.length}`);
        const flags = f.slice(f.length - 19);
        if (flags.some((x) => x !== '0' && x !== '1')) throw new DataError(itemFile, i + 1, 'genre flags must be 0 or 1');
        const genres = ML_GENRES.filter((_, g) => flags[g] === '1');
        const year = /(\d{4})/.exec(f[2] ?? '')?.[1];
        const tags = genres.map((g) => g.toLowerCase());
        if (year) tags.push(`decade:${year.slice(0, 3)}0s`);
        const row: ItemRow = { id: f[0]!, title: f[1], tags };
        if (genres[0]) row.category = genres[0];
        items.push(row);
        ids.add(f[0]!);
      } catch (e) {
        if (!(e instanceof DataError) || !skipBad) throw e;
        skipped++;
      }
    }
  }
  for (const e of events) if (!ids.has(e.item)) {
    ids.add(e.item);
    items.push({ id: e.item, tags: [] });
  }
  items.sort((a, b) => numericAware(a.id, b.id));
  return { events, items, skipped };
}

/** Reads files for a converter. `input` is the sequences file (Amazon) or the folder / u.data (MovieLens). */
export function convertFiles(format: 'amazon' | 'ml-100k', input: string, attrs?: string, skipBad = false): Converted {
  if (format === 'amazon') {
    if (!existsSync(input)) throw new Error(`no such file: ${input}`);
    const guess = join(dirname(input), `${basename(input).replace(/\.[^.]+$/, '')}_item2attributes.json`);
    const attrFile = attrs ?? (existsSync(guess) ? guess : undefined);
    return convertAmazon(readFileSync(input, 'utf8'), attrFile ? readFileSync(attrFile, 'utf8') : undefined, input, attrFile, skipBad);
  }
  const dataFile = existsSync(join(input, 'u.data')) ? join(input, 'u.data') : input;
  if (!existsSync(dataFile)) throw new Error(`no such file: ${dataFile}`);
  const itemFile = attrs ?? join(dirname(dataFile), 'u.item');
  return convertMovieLens(readFileSync(dataFile, 'utf8'), existsSync(itemFile) ? readFileSync(itemFile) : undefined, dataFile, itemFile, skipBad);
}
