import { describe, expect, it } from 'vitest';
import { convertAmazon, convertMovieLens } from '../../model/convert';
import { buildDataset } from '../../model/dataset';
import { DataError, eventsCsv, itemsCsv, parseEvents, parseItems } from '../../model/io';

describe('event and item parsers', () => {
  it('parses CSV events with optional type and value, defaulting to purchase', () => {
    const p = parseEvents('user_id,item_id,timestamp,type,value\nu1,a,1,view,\nu1,b,2,,3.5\nu2,a,2024-01-01T00:00:00Z,add_to_cart,\n', 'e.csv');
    expect(p.rows).toEqual([
      { user: 'u1', item: 'a', ts: 1, type: 'view' },
      { user: 'u1', item: 'b', ts: 2, type: 'purchase', value: 3.5 },
      { user: 'u2', item: 'a', ts: Date.parse('2024-01-01T00:00:00Z'), type: 'add_to_cart' },
    ]);
  });

  it('parses NDJSON events and items', () => {
    const e = parseEvents('{"user_id":"u","item_id":"x","timestamp":5}\n\n{"user_id":7,"item_id":"y","timestamp":"6","type":"click"}\n', 'e.ndjson');
    expect(e.rows.map((r) => [r.user, r.item, r.ts, r.type])).toEqual([['u', 'x', 5, 'purchase'], ['7', 'y', 6, 'click']]);
    const i = parseItems('{"item_id":"x","category":"c","tags":["t1","t2"],"price":3}\n', 'i.jsonl');
    expect(i.rows).toEqual([{ id: 'x', category: 'c', tags: ['t1', 't2'], price: 3 }]);
  });

  it('round-trips items CSV with quoting and | tags', () => {
    const items = [{ id: 'a,1', title: 'He said "hi"', category: 'c', brand: 'b', price: 2.5, tags: ['x', 'y z'] }];
    expect(parseItems(itemsCsv(items), 'i.csv').rows).toEqual(items);
    const ev = [{ user: 'u', item: 'a,1', ts: 3, type: 'click' as const }];
    expect(parseEvents(eventsCsv(ev), 'e.csv').rows).toEqual(ev);
  });

  it('rejects malformed rows with file, line and problem', () => {
    const bad = [
      ['user_id,item_id\nu,a\n', /e\.csv:1: header must contain user_id,item_id,timestamp; missing timestamp/],
      ['user_id,item_id,timestamp\nu,a,1\nu,b\n', /e\.csv:3: expected 3 columns, got 2/],
      ['user_id,item_id,timestamp\nu,a,yesterday-ish\n', /e\.csv:2: timestamp is neither a number nor an ISO date/],
      ['user_id,item_id,timestamp,type\nu,a,1,like\n', /e\.csv:2: unknown type "like"/],
      ['user_id,item_id,timestamp\n,a,1\n', /e\.csv:2: missing user_id/],
      ['user_id,item_id,timestamp,value\nu,a,1,abc\n', /e\.csv:2: value is not a number/],
    ] as const;
    for (const [text, msg] of bad) expect(() => parseEvents(text, 'e.csv')).toThrow(msg);
    expect(() => parseEvents('{"user_id":"u","item_id":"a","timestamp":1}\n{oops\n', 'e.ndjson')).toThrow(/e\.ndjson:2: invalid JSON/);
    expect(() => parseItems('item_id,price\na,1\na,2\n', 'i.csv')).toThrow(/i\.csv:3: duplicate item_id "a"/);
    expect(() => parseItems('item_id,price\na,-1\n', 'i.csv')).toThrow(/i\.csv:2: price must be >= 0/);
    expect(() => parseItems('title\nx\n', 'i.csv')).toThrow(DataError);
  });

  it('skips and counts bad rows when asked', () => {
    const errors: string[] = [];
    const p = parseEvents('user_id,item_id,timestamp\nu,a,1\nu,b\nu,c,x\nu,d,4\n', 'e.csv', { skipBad: true, onSkip: (e) => errors.push(e.message) });
    expect(p.rows.map((r) => r.item)).toEqual(['a', 'd']);
    expect(p.skipped).toBe(2);
    expect(errors).toEqual(['e.csv:3: expected 3 columns, got 2', 'e.csv:4: timestamp is neither a number nor an ISO date: "x"']);
  });
});

describe('dataset', () => {
  it('orders by time, then item id (numerically), keeps the last repeat, builds attributes and price bands', () => {
    const ev = parseEvents('user_id,item_id,timestamp\nu,10,5\nu,9,5\nu,2,1\nu,10,7\nv,2,1\n', 'e.csv').rows;
    const it = parseItems('item_id,category,brand,price,tags\n2,c1,b1,1,x|y\n9,c2,,5,\n10,c1,b2,9,y\n', 'i.csv').rows;
    const ds = buildDataset([...ev, { user: 'v', item: 'new', ts: 2, type: 'view' }], it);
    expect(ds.itemIds).toEqual(['2', '9', '10', 'new']);
    expect(Array.from(ds.seqs[0]!, (i) => ds.itemIds[i])).toEqual(['2', '9', '10']);
    expect(ds.summary.event_items_missing_from_catalog).toBe(1);
    expect(ds.attributes.slice(0, 4)).toEqual(['category:c1', 'category:c2', 'brand:b1', 'brand:b2']);
    expect(ds.attributes.filter((a) => a.startsWith('tag:'))).toEqual(['tag:x', 'tag:y']);
    expect(ds.itemAttrs[3]).toEqual([]);
  });
});

describe('converters', () => {
  it('converts the S3-Rec Amazon format with positions as time and attributes as tags', () => {
    const c = convertAmazon('1 5 3 7\n2 3 5\n', '{"3":[1,2],"5":[2],"7":[],"11":[4]}');
    expect(c.events.filter((e) => e.user === '1').map((e) => [e.item, e.ts])).toEqual([['5', 0], ['3', 1], ['7', 2]]);
    expect(c.items.map((i) => i.id)).toEqual(['3', '5', '7', '11']);
    expect(c.items[0]!.tags).toEqual(['a1', 'a2']);
  });

  it('rejects bad Amazon input', () => {
    expect(() => convertAmazon('1 5 3\n2\n', undefined, 'b.txt')).toThrow(/b\.txt:2: expected "user_id item_1 item_2 …"/);
    expect(() => convertAmazon('1 5 3\n1 4\n', undefined, 'b.txt')).toThrow(/b\.txt:2: user "1" appears on more than one line/);
    expect(() => convertAmazon('{"a": 1}\n', undefined, 'b.txt')).toThrow(/b\.txt:1:/);
    expect(() => convertAmazon('1 2 3\n', '[1,2]', 'b.txt', 'a.json')).toThrow(/a\.json:1: invalid attributes JSON/);
    expect(() => convertAmazon('\n\n', undefined, 'b.txt')).toThrow(/no interactions/);
    expect(convertAmazon('1 5 3\n2\n', undefined, 'b.txt', 'a', true).skipped).toBe(1);
  });

  it('converts MovieLens 100K (latin-1 u.item, genre flags)', () => {
    const flags = (on: number[]) => Array.from({ length: 19 }, (_, g) => (on.includes(g) ? '1' : '0')).join('|');
    const uitem = Buffer.from(`1|Caf\xe9 Story (1995)|01-Jan-1995||http://x|${flags([3, 5])}\n2|Heat (1995)|01-Jan-1995||http://y|${flags([1])}\n`, 'latin1');
    const c = convertMovieLens('10\t1\t5\t100\n10\t2\t3\t100\n11\t2\t4\t50\n', uitem);
    expect(c.items[0]).toEqual({ id: '1', title: 'Café Story (1995)', category: 'Animation', tags: ['animation', 'comedy', 'decade:1990s'] });
    expect(c.items[1]!.category).toBe('Action');
    expect(c.events).toHaveLength(3);
    expect(() => convertMovieLens('10 1 5 100\n', undefined, 'u.data')).toThrow(/u\.data:1: expected 4 tab-separated fields/);
    expect(() => convertMovieLens('10\t1\t5\tnoon\n', undefined, 'u.data')).toThrow(/u\.data:1: timestamp is not a number/);
    expect(() => convertMovieLens('10\t1\t5\t1\n', Buffer.from('1|x|y\n'), 'u.data', 'u.item')).toThrow(/u\.item:1: expected 24 pipe-separated fields/);
  });
});
