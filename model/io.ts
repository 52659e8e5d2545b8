/**
 * Input formats (docs/model.md, "Input formats"):
 *   events: CSV header `user_id,item_id,timestamp[,type][,value]` or NDJSON with the same fields
 *   items:  CSV header `item_id[,title,category,brand,price,tags]` (tags separated by `|`) or NDJSON
 * Malformed rows raise a DataError naming file, line and problem, unless `skipBad` is set,
 * in which case they are counted and skipped.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';

export const EVENT_TYPES = ['view', 'click', 'add_to_cart', 'purchase'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
/** Event strength, as the worker's session profile (worker/session/profile.ts). */
export const EVENT_STRENGTH: Record<EventType, number> = { view: 1, click: 2, add_to_cart: 3, purchase: 5 };

export interface EventRow {
  user: string;
  item: string;
  ts: number;
  type: EventType;
  value?: number;
}

export interface ItemRow {
  id: string;
  title?: string;
  category?: string;
  brand?: string;
  price?: number;
  tags: string[];
}

export class DataError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly problem: string,
  ) {
    super(`${file}:${line}: ${problem}`);
    this.name = 'DataError';
  }
}

export interface ParseOptions {
  /** Skip malformed rows instead of failing; they are counted in `skipped`. */
  skipBad?: boolean;
  /** Called for each skipped row (default: the first 5 are printed to stderr). */
  onSkip?: (e: DataError) => void;
}

export interface Parsed<T> {
  rows: T[];
  skipped: number;
  errors: DataError[];
}

interface RawRecord {
  line: number;
  get(field: string): unknown;
  has(field: string): boolean;
}

function isNdjson(file: string, text: string): boolean {
  if (/\.(ndjson|jsonl|json)$/i.test(file)) return true;
  if (/\.(csv|tsv|txt)$/i.test(file)) return false;
  return text.trimStart().startsWith('{');
}

function* records(file: string, text: string, required: string[], known: string[]): Generator<RawRecord> {
  if (isNdjson(file, text)) {
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const s = lines[i]!.trim();
      if (!s) continue;
      let obj: unknown;
      try {
        obj = JSON.parse(s);
      } catch (e) {
        yield { line: i + 1, get: () => { throw new DataError(file, i + 1, `invalid JSON (${(e as Error).message})`); }, has: () => false };
        continue;
      }
      if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
        yield { line: i + 1, get: () => { throw new DataError(file, i + 1, 'expected a JSON object per line'); }, has: () => false };
        continue;
      }
      const o = obj as Record<string, unknown>;
      yield { line: i + 1, get: (f) => o[f], has: (f) => o[f] !== undefined && o[f] !== null && o[f] !== '' };
    }
    return;
  }
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parse(text, { bom: true, skip_empty_lines: true, relax_column_count: true, relax_quotes: true, info: true }) as never;
  } catch (e) {
    const err = e as Error & { lines?: number };
    throw new DataError(file, err.lines ?? 0, `CSV syntax error: ${err.message}`);
  }
  if (!rows.length) throw new DataError(file, 1, `empty file (expected a header with ${required.join(',')})`);
  const header = rows[0]!.record.map((h) => h.trim().toLowerCase());
  const missing = required.filter((r) => !header.includes(r));
  if (missing.length) throw new DataError(file, 1, `header must contain ${required.join(',')}; missing ${missing.join(',')} (got "${header.join(',')}")`);
  const unknown = header.filter((h) => !known.includes(h));
  void unknown; // extra columns are ignored on purpose
  const pos = new Map(header.map((h, i) => [h, i]));
  for (let r = 1; r < rows.length; r++) {
    const { record, info } = rows[r]!;
    const line = info.lines;
    if (record.length !== header.length) {
      yield { line, get: () => { throw new DataError(file, line, `expected ${header.length} columns, got ${record.length}`); }, has: () => false };
      continue;
    }
    yield {
      line,
      get: (f) => (pos.has(f) ? record[pos.get(f)!] : undefined),
      has: (f) => pos.has(f) && record[pos.get(f)!]!.trim() !== '',
    };
  }
}

function str(file: string, r: RawRecord, f: string, required: boolean): string | undefined {
  const v = r.get(f);
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) {
    if (required) throw new DataError(file, r.line, `missing ${f}`);
    return undefined;
  }
  if (typeof v === 'number') return String(v);
  if (typeof v !== 'string') throw new DataError(file, r.line, `${f} must be a string or number, got ${JSON.stringify(v)}`);
  return v.trim();
}

function num(file: string, r: RawRecord, f: string, v: unknown): number {
  const x = typeof v === 'number' ? v : Number(String(v).trim());
  if (!Number.isFinite(x)) throw new DataError(file, r.line, `${f} is not a number: ${JSON.stringify(v)}`);
  return x;
}

/** Timestamps: a number (any unit, e.g. epoch s or ms, or a position) or an ISO 8601 date. */
function timestamp(file: string, r: RawRecord, v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  const s = String(v).trim();
  if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new DataError(file, r.line, `timestamp is neither a number nor an ISO date: ${JSON.stringify(v)}`);
  return t;
}

function collect<T>(file: string, recs: Iterable<RawRecord>, row: (r: RawRecord) => T, opts: ParseOptions): Parsed<T> {
  const out: Parsed<T> = { rows: [], skipped: 0, errors: [] };
  for (const r of recs) {
    try {
      out.rows.push(row(r));
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      if (!opts.skipBad) throw e;
      out.skipped++;
      if (out.errors.length < 100) out.errors.push(e);
      if (opts.onSkip) opts.onSkip(e);
      else if (out.skipped <= 5) process.stderr.write(`skipping bad row: ${e.message}\n`);
    }
  }
  return out;
}

export function parseEvents(text: string, file = 'events', opts: ParseOptions = {}): Parsed<EventRow> {
  const known = ['user_id', 'item_id', 'timestamp', 'type', 'value'];
  return collect(file, records(file, text, ['user_id', 'item_id', 'timestamp'], known), (r) => {
    const user = str(file, r, 'user_id', true)!;
    const item = str(file, r, 'item_id', true)!;
    if (!r.has('timestamp')) throw new DataError(file, r.line, 'missing timestamp');
    const ts = timestamp(file, r, r.get('timestamp'));
    const t = str(file, r, 'type', false) ?? 'purchase';
    if (!(EVENT_TYPES as readonly string[]).includes(t)) throw new DataError(file, r.line, `unknown type "${t}" (expected ${EVENT_TYPES.join(', ')})`);
    const row: EventRow = { user, item, ts, type: t as EventType };
    if (r.has('value')) row.value = num(file, r, 'value', r.get('value'));
    return row;
  }, opts);
}

export function parseItems(text: string, file = 'items', opts: ParseOptions = {}): Parsed<ItemRow> {
  const known = ['item_id', 'title', 'category', 'brand', 'price', 'tags'];
  const seen = new Set<string>();
  return collect(file, records(file, text, ['item_id'], known), (r) => {
    const id = str(file, r, 'item_id', true)!;
    if (seen.has(id)) throw new DataError(file, r.line, `duplicate item_id "${id}"`);
    const row: ItemRow = { id, tags: [] };
    const title = str(file, r, 'title', false);
    if (title) row.title = title;
    const category = str(file, r, 'category', false);
    if (category) row.category = category;
    const brand = str(file, r, 'brand', false);
    if (brand) row.brand = brand;
    if (r.has('price')) {
      const p = num(file, r, 'price', r.get('price'));
      if (p < 0) throw new DataError(file, r.line, `price must be >= 0, got ${p}`);
      row.price = p;
    }
    if (r.has('tags')) {
      const v = r.get('tags');
      const list = Array.isArray(v) ? v.map(String) : String(v).split('|');
      row.tags = list.map((s) => s.trim()).filter(Boolean);
    }
    seen.add(id);
    return row;
  }, opts);
}

export function readEvents(file: string, opts: ParseOptions = {}): Parsed<EventRow> {
  return parseEvents(readText(file), file, opts);
}

export function readItems(file: string, opts: ParseOptions = {}): Parsed<ItemRow> {
  return parseItems(readText(file), file, opts);
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
}

/** CSV field quoting. */
export function csvField(v: string | number | undefined): string {
  if (v === undefined) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function itemsCsv(items: ItemRow[]): string {
  const lines = ['item_id,title,category,brand,price,tags'];
  for (const it of items) lines.push([it.id, it.title, it.category, it.brand, it.price, it.tags.join('|')].map(csvField).join(','));
  return lines.join('\n') + '\n';
}

export function eventsCsv(events: EventRow[], withType = true): string {
  const lines = [withType ? 'user_id,item_id,timestamp,type,value' : 'user_id,item_id,timestamp'];
  for (const e of events) {
    const f = [e.user, e.item, e.ts];
    lines.push((withType ? [...f, e.type, e.value] : f).map(csvField).join(','));
  }
  return lines.join('\n') + '\n';
}
