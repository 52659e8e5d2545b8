/**
 * Input formats (docs/model.md, "Input formats"):
 *   events: CSV header `user_id,item_id,timestamp[,type][,value][,device]` or NDJSON with the same fields
 *   items:  CSV header `item_id[,title,category,brand,price,tags]` (tags separated by `|`) or NDJSON
 * Malformed rows raise a DataError naming file, line and problem, unless `skipBad` is set,
 * in which case they are counted and skipped.
 *
 * Two readers share the row rules: `parseEvents`/`parseItems` (a whole text, rows as objects; small
 * data and tests) and `forEachEvent`/`forEachItem` (streamed from a file with csv-parse's stream API
 * or line by line for NDJSON, one row at a time, nothing kept; large data, model/dataset.ts `readDataset`).
 */
import { createReadStream, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { parse as parseStream } from 'csv-parse';
import { parse } from 'csv-parse/sync';

export const EVENT_TYPES = ['view', 'click', 'add_to_cart', 'purchase'] as const;
export type EventType = (typeof EVENT_TYPES)[number];
/** Event strength, as the worker's session profile (worker/session/profile.ts). */
export const EVENT_STRENGTH: Record<EventType, number> = { view: 1, click: 2, add_to_cart: 3, purchase: 5 };

/** Devices of the optional `device` column; index = the Dataset's per-interaction device code. */
export const DEVICES = ['mobile', 'desktop', 'other'] as const;
export type Device = (typeof DEVICES)[number];

export interface EventRow {
  user: string;
  item: string;
  ts: number;
  type: EventType;
  value?: number;
  device?: Device;
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

class BadRecord implements RawRecord {
  constructor(
    readonly line: number,
    private readonly error: DataError,
  ) {}
  get(): unknown {
    throw this.error;
  }
  has(): boolean {
    return false;
  }
}

class JsonRecord implements RawRecord {
  constructor(
    readonly line: number,
    private readonly o: Record<string, unknown>,
  ) {}
  get(f: string): unknown {
    return this.o[f];
  }
  has(f: string): boolean {
    const v = this.o[f];
    return v !== undefined && v !== null && v !== '';
  }
}

class CsvRecord implements RawRecord {
  constructor(
    readonly line: number,
    private readonly record: string[],
    private readonly pos: Map<string, number>,
  ) {}
  get(f: string): unknown {
    const p = this.pos.get(f);
    return p === undefined ? undefined : this.record[p];
  }
  has(f: string): boolean {
    const p = this.pos.get(f);
    return p !== undefined && this.record[p]!.trim() !== '';
  }
}

function jsonRecord(file: string, line: number, text: string): RawRecord | undefined {
  const s = text.trim();
  if (!s) return undefined;
  let obj: unknown;
  try {
    obj = JSON.parse(s);
  } catch (e) {
    return new BadRecord(line, new DataError(file, line, `invalid JSON (${(e as Error).message})`));
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return new BadRecord(line, new DataError(file, line, 'expected a JSON object per line'));
  return new JsonRecord(line, obj as Record<string, unknown>);
}

/** Checks the CSV header; returns column positions. */
function csvHeader(file: string, record: string[], required: string[]): Map<string, number> {
  const header = record.map((h) => h.trim().toLowerCase());
  const missing = required.filter((r) => !header.includes(r));
  if (missing.length) throw new DataError(file, 1, `header must contain ${required.join(',')}; missing ${missing.join(',')} (got "${header.join(',')}")`);
  // extra columns are ignored on purpose
  return new Map(header.map((h, i) => [h, i]));
}

function csvRecord(file: string, line: number, record: string[], pos: Map<string, number>): RawRecord {
  if (record.length !== pos.size) return new BadRecord(line, new DataError(file, line, `expected ${pos.size} columns, got ${record.length}`));
  return new CsvRecord(line, record, pos);
}

const CSV_OPTIONS = { bom: true, skip_empty_lines: true, relax_column_count: true, relax_quotes: true, info: true } as const;

function* records(file: string, text: string, required: string[]): Generator<RawRecord> {
  if (isNdjson(file, text)) {
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const r = jsonRecord(file, i + 1, lines[i]!);
      if (r) yield r;
    }
    return;
  }
  let rows: { record: string[]; info: { lines: number } }[];
  try {
    rows = parse(text, CSV_OPTIONS) as never;
  } catch (e) {
    const err = e as Error & { lines?: number };
    throw new DataError(file, err.lines ?? 0, `CSV syntax error: ${err.message}`);
  }
  if (!rows.length) throw new DataError(file, 1, `empty file (expected a header with ${required.join(',')})`);
  const pos = csvHeader(file, rows[0]!.record, required);
  for (let r = 1; r < rows.length; r++) yield csvRecord(file, rows[r]!.info.lines, rows[r]!.record, pos);
}

/**
 * Streams a file's records (CSV through csv-parse's stream API, NDJSON line by line) without
 * reading it whole; `progress` gets the bytes read so far.
 */
async function streamRecords(file: string, required: string[], each: (r: RawRecord) => void, progress?: (bytes: number) => void): Promise<void> {
  let head: Buffer;
  try {
    const fd = await open(file, 'r');
    try {
      const b = Buffer.alloc(4096);
      const { bytesRead } = await fd.read(b, 0, b.length, 0);
      head = b.subarray(0, bytesRead);
    } finally {
      await fd.close();
    }
  } catch (e) {
    throw new Error(`cannot read ${file}: ${(e as Error).message}`);
  }
  let bytes = 0;
  const input = createReadStream(file, { highWaterMark: 1 << 20 });
  input.on('data', (c) => {
    bytes += c.length;
    progress?.(bytes);
  });
  if (isNdjson(file, head.toString('utf8'))) {
    let line = 0;
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      const r = jsonRecord(file, ++line, text);
      if (r) each(r);
    }
    return;
  }
  let pos: Map<string, number> | undefined;
  const parser = input.pipe(parseStream(CSV_OPTIONS));
  input.on('error', (e) => parser.destroy(e));
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!pos) pos = csvHeader(file, record, required);
      else each(csvRecord(file, info.lines, record, pos));
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    const err = e as Error & { lines?: number; code?: string };
    if (err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'EISDIR') throw new Error(`cannot read ${file}: ${err.message}`);
    throw new DataError(file, err.lines ?? 0, `CSV syntax error: ${err.message}`);
  }
  if (!pos) throw new DataError(file, 1, `empty file (expected a header with ${required.join(',')})`);
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

/** Converts one record with `row`, or counts and reports it when it is malformed and `skipBad` is set. */
function rowHandler<T>(row: (r: RawRecord) => T, keep: (x: T) => void, out: { skipped: number; errors: DataError[] }, opts: ParseOptions): (r: RawRecord) => void {
  return (r) => {
    let x: T;
    try {
      x = row(r);
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      if (!opts.skipBad) throw e;
      out.skipped++;
      if (out.errors.length < 100) out.errors.push(e);
      if (opts.onSkip) opts.onSkip(e);
      else if (out.skipped <= 5) process.stderr.write(`skipping bad row: ${e.message}\n`);
      return;
    }
    keep(x);
  };
}

function collect<T>(recs: Iterable<RawRecord>, row: (r: RawRecord) => T, opts: ParseOptions): Parsed<T> {
  const out: Parsed<T> = { rows: [], skipped: 0, errors: [] };
  const h = rowHandler(row, (x) => out.rows.push(x), out, opts);
  for (const r of recs) h(r);
  return out;
}

const EVENT_REQUIRED = ['user_id', 'item_id', 'timestamp'];

function eventRow(file: string, r: RawRecord): EventRow {
  const user = str(file, r, 'user_id', true)!;
  const item = str(file, r, 'item_id', true)!;
  if (!r.has('timestamp')) throw new DataError(file, r.line, 'missing timestamp');
  const ts = timestamp(file, r, r.get('timestamp'));
  const t = str(file, r, 'type', false) ?? 'purchase';
  if (!(EVENT_TYPES as readonly string[]).includes(t)) throw new DataError(file, r.line, `unknown type "${t}" (expected ${EVENT_TYPES.join(', ')})`);
  const row: EventRow = { user, item, ts, type: t as EventType };
  if (r.has('value')) row.value = num(file, r, 'value', r.get('value'));
  const d = str(file, r, 'device', false);
  if (d !== undefined) {
    const dl = d.toLowerCase();
    if (!(DEVICES as readonly string[]).includes(dl)) throw new DataError(file, r.line, `unknown device "${d}" (expected ${DEVICES.join(', ')})`);
    row.device = dl as Device;
  }
  return row;
}

const ITEM_REQUIRED = ['item_id'];

function itemRow(file: string, r: RawRecord, isDuplicate: (id: string) => boolean): ItemRow {
  const id = str(file, r, 'item_id', true)!;
  if (isDuplicate(id)) throw new DataError(file, r.line, `duplicate item_id "${id}"`);
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
  return row;
}

export function parseEvents(text: string, file = 'events', opts: ParseOptions = {}): Parsed<EventRow> {
  return collect(records(file, text, EVENT_REQUIRED), (r) => eventRow(file, r), opts);
}

export function parseItems(text: string, file = 'items', opts: ParseOptions = {}): Parsed<ItemRow> {
  const seen = new Set<string>();
  return collect(records(file, text, ITEM_REQUIRED), (r) => {
    const row = itemRow(file, r, (id) => seen.has(id));
    seen.add(row.id);
    return row;
  }, opts);
}

export interface StreamOptions extends ParseOptions {
  /** bytes of the file read so far */
  progress?: (bytes: number) => void;
}

/**
 * Streams the events of a file to `each` (one short-lived EventRow at a time; nothing is kept).
 * Same rows, errors and `skipBad` handling as `parseEvents`.
 */
export async function forEachEvent(file: string, each: (e: EventRow) => void, opts: StreamOptions = {}): Promise<{ skipped: number; errors: DataError[] }> {
  const out = { skipped: 0, errors: [] as DataError[] };
  await streamRecords(file, EVENT_REQUIRED, rowHandler((r) => eventRow(file, r), each, out, opts), opts.progress);
  return out;
}

/**
 * Streams the items of a file to `each`. `isDuplicate(id)` says whether an id was already
 * accepted (the caller keeps the index, so no second set of ids is built here).
 */
export async function forEachItem(file: string, each: (it: ItemRow) => void, isDuplicate: (id: string) => boolean, opts: StreamOptions = {}): Promise<{ skipped: number; errors: DataError[] }> {
  const out = { skipped: 0, errors: [] as DataError[] };
  await streamRecords(file, ITEM_REQUIRED, rowHandler((r) => itemRow(file, r, isDuplicate), each, out, opts), opts.progress);
  return out;
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

/** Events as CSV; a `device` column is added only when some event has a device. */
export function eventsCsv(events: EventRow[], withType = true): string {
  const withDevice = withType && events.some((e) => e.device !== undefined);
  const lines = [withType ? `user_id,item_id,timestamp,type,value${withDevice ? ',device' : ''}` : 'user_id,item_id,timestamp'];
  for (const e of events) {
    const f = [e.user, e.item, e.ts];
    lines.push((withType ? (withDevice ? [...f, e.type, e.value, e.device] : [...f, e.type, e.value]) : f).map(csvField).join(','));
  }
  return lines.join('\n') + '\n';
}
