/** The console's pages as HTML (worker/console/routes.ts reads the data and calls these). */
import { renderBlock } from '../render/block';
import type { ServedSlot } from '../serving/pipeline';
import type { SlotConfig } from '../slots/config';
import type { Figures, KpiReport } from './kpi';
import type { Signal } from './signals';
import { esc, money, num, pct } from './layout';

const table = (head: string[], rows: string[][], attrs = '') =>
  `<table${attrs}><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('') || `<tr><td colspan="${head.length}"><small>none</small></td></tr>`}</tbody></table>`;

export function loginPage(error?: string): string {
  return `${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}<form method="post" action="/console/login" class="card" style="max-width:420px">
<label for="token">Admin token</label><input type="password" id="token" name="token" autocomplete="current-password" required style="width:100%">
<p><button type="submit">Sign in</button></p><small>Behind Cloudflare Access the console opens without this form.</small></form>`;
}

/** Scalars of a JSON object as "a.b.c = v" rows (the health and metrics documents vary by state). */
function flatten(o: unknown, prefix = '', out: [string, string][] = [], depth = 0): [string, string][] {
  if (o === null || typeof o !== 'object' || depth > 3) {
    out.push([prefix, o === null ? '—' : typeof o === 'number' ? String(Math.round(o * 1000) / 1000) : String(o)]);
    return out;
  }
  if (Array.isArray(o)) {
    out.push([prefix, o.length ? o.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ').slice(0, 200) : '—']);
    return out;
  }
  for (const [k, v] of Object.entries(o)) flatten(v, prefix ? `${prefix}.${k}` : k, out, depth + 1);
  return out;
}

export function healthPage(health: Record<string, unknown>, stats: Record<string, unknown>, metrics: Record<string, unknown>): string {
  const status = String(health.status ?? 'unknown');
  const reasons = (health.reasons as string[] | undefined) ?? [];
  const kv = (o: Record<string, unknown>) => table(['', ''], flatten(o).map(([k, v]) => [`<code>${esc(k)}</code>`, esc(v)]), ' class="small"');
  return `<p>Status: <b data-testid="health-status" class="badge ${status === 'ok' ? 'running' : 'paused'}">${esc(status)}</b>${reasons.length ? ` — ${esc(reasons.join(', '))}` : ''}</p>
<div class="row"><section class="card"><h3>Counts</h3>${kv(stats)}</section><section class="card"><h3>Traffic (last hour)</h3>${kv(metrics)}</section></div>
<section class="card"><h3>Model, storage, drift</h3>${kv({ model: health.model, storage: health.storage, drift: health.drift, events: health.events, faults: health.faults })}</section>`;
}

const KPI_TILES: [keyof Figures, string, (x: number | null) => string][] = [
  ['conversion', 'Conversion (orders / visitors)', (x) => pct(x)],
  ['aov', 'Average order value', money],
  ['rpv', 'Revenue per visitor', money],
  ['itemsPerOrder', 'Items per order', (x) => num(x)],
  ['repeatRate', 'Repeat-purchase rate', (x) => pct(x)],
  ['recShare', 'Revenue from recommendations', (x) => pct(x)],
];

function kpiRow(f: Figures): string[] {
  return [String(f.visitors), String(f.orders), money(f.revenue), pct(f.conversion), money(f.aov), money(f.rpv), num(f.itemsPerOrder), pct(f.repeatRate), pct(f.recShare)];
}
const KPI_HEAD = ['visitors', 'orders', 'revenue', 'conversion', 'AOV', 'revenue / visitor', 'items / order', 'repeat rate', 'rec. revenue share'];

/** One bar per day (or hour) of the range (none without data), as inline SVG. */
function bars(title: string, rows: { t: number; v: number | null }[], range: { from: number; n: number; step: number }, fmt: (y: number) => string, color: string): string {
  const [W, H, L, R, T, B] = [520, 200, 56, 12, 16, 30];
  const byDay = new Map(rows.map((d) => [d.t, d.v]));
  const days = Array.from({ length: range.n }, (_, i) => range.from + i * range.step);
  const label = (t: number) => (range.step >= 86_400_000 ? new Date(t).toISOString().slice(5, 10) : new Date(t).toISOString().slice(5, 16).replace('T', ' '));
  const max = Math.max(1e-9, ...[...byDay.values()].map((v) => v ?? 0)) * 1.15;
  const slot = (W - L - R) / days.length;
  const y = (v: number) => T + (1 - v / max) * (H - T - B);
  const bars = days
    .map((d, i) => {
      const v = byDay.get(d);
      return v === undefined || v === null ? '' : `<rect x="${(L + i * slot + slot * 0.15).toFixed(1)}" y="${y(v).toFixed(1)}" width="${(slot * 0.7).toFixed(1)}" height="${(H - B - y(v)).toFixed(1)}" fill="${color}"><title>${label(d)}: ${esc(fmt(v))}</title></rect>`;
    })
    .join('');
  const grid = [0, 0.5, 1].map((f) => `<line x1="${L}" x2="${W - R}" y1="${y(f * max)}" y2="${y(f * max)}" class="grid"/><text x="${L - 6}" y="${y(f * max) + 4}" text-anchor="end">${esc(fmt(f * max))}</text>`).join('');
  const labels = [0, days.length - 1].map((i, k) => `<text x="${L + (i + 0.5) * slot}" y="${H - 10}" text-anchor="${k ? 'end' : 'start'}">${label(days[i]!)}</text>`).join('');
  return `<figure class="chart"><figcaption>${esc(title)}</figcaption><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${grid}${bars}${labels}</svg></figure>`;
}

export function kpiPage(r: KpiReport): string {
  const t = r.total;
  const tiles = KPI_TILES.map(([k, label, f]) => `<div class="kpi" data-kpi="${k}"><small>${esc(label)}</small><b>${esc(f(t[k] as number | null))}</b></div>`).join('');
  const counts = `<p class="meta" data-testid="kpi-counts">${t.visitors} visitors · ${t.orders} orders · ${t.items} items · revenue ${money(t.revenue)} · ${t.views} views · ${t.impressions} impressions · ${t.clicks} clicks</p>`;
  const daily = (title: string, pick: (f: Figures) => number | null, fmt: (y: number) => string, color: string) =>
    bars(title, r.daily.map((d) => ({ t: d.day, v: pick(d) })), { from: r.from, n: r.days, step: 86_400_000 }, fmt, color);
  const charts = [
    daily('Conversion per day', (f) => f.conversion, (y) => pct(y, 1), '#2563eb'),
    daily('Revenue per day', (f) => f.revenue, (y) => y.toFixed(0), '#16a34a'),
    daily('Average order value per day', (f) => f.aov, (y) => y.toFixed(1), '#ea580c'),
    daily('Revenue from recommendations per day', (f) => f.recShare, (y) => pct(y, 0), '#9333ea'),
    daily('Repeat-purchase rate per day', (f) => f.repeatRate, (y) => pct(y, 0), '#0891b2'),
    bars('Orders per hour (last 48 h)', r.hourly.map((h) => ({ t: h.hour, v: h.orders })), { from: r.hoursFrom, n: 48, step: 3_600_000 }, (y) => y.toFixed(1), '#475569'),
  ];
  const bySegment = table(['segment', ...KPI_HEAD], r.bySegment.map((s) => [esc(s.segment), ...kpiRow(s)]), ' data-testid="kpi-segments"');
  const bySlot = table(
    ['slot', 'impressions', 'clicks', 'CTR', 'add to cart', 'orders', 'revenue', 'rec. revenue share'],
    r.bySlot.map((s) => [`<code>${esc(s.slot)}</code>`, String(s.impressions), String(s.clicks), pct(s.ctr), String(s.carts), String(s.orders), money(s.revenue), pct(s.recShare)]),
    ' data-testid="kpi-slots"',
  );
  return `<form method="get" action="/console/kpis" class="inline">Last <input type="number" name="days" min="1" max="90" value="${r.days}" style="width:60px"> days <button type="submit" class="secondary">Show</button></form>
<div class="kpis" data-testid="kpi-tiles">${tiles}</div>${counts}
<div class="charts">${charts.join('')}</div>
<section class="card"><h3>Per segment</h3>${bySegment}</section><section class="card"><h3>Per slot</h3>${bySlot}</section>
<p><small>From the hourly and daily rollups the event consumer writes (kpi_rollups), by the day the events were accepted (UTC); definitions in docs/console.md.</small></p>`;
}

export function catalogPage(q: string, rows: { id: string; title: string; category: string | null; brand: string | null; price: number | null; inStock: boolean; removedAt: number | null }[]): string {
  return `<form method="get" action="/console/catalog"><input type="search" name="q" value="${esc(q)}" placeholder="item id or title" style="width:320px"> <button type="submit">Search</button></form>
${table(
  ['item', 'title', 'category', 'brand', 'price', 'in stock'],
  rows.map((r) => [`<code>${esc(r.id)}</code>`, esc(r.title), esc(r.category ?? ''), esc(r.brand ?? ''), r.price === null ? '—' : r.price.toFixed(2), r.removedAt ? 'removed from the feed' : r.inStock ? 'yes' : 'no']),
  ' data-testid="catalog-results"',
)}`;
}

export interface PreviewInput {
  session_id?: string;
  user_id?: string;
  segment?: string;
  slots: string[];
  k: number;
}

function servedSlot(s: ServedSlot, signals: Record<string, Signal[]>): string {
  const r = s.response;
  const segs = r.segments.map((g) => `${esc(g.name)} <small>${g.score.toFixed(2)}</small>`).join(', ') || '—';
  const signalText = (id: string) => (signals[id] ?? []).map((g) => `<span class="signal">${esc(g.name)} <b>${g.value}</b></span>`).join(' · ');
  const rows = r.items.map((it) => [String(it.rank), `<code>${esc(it.item_id)}</code>`, esc(it.title), esc(it.category ?? ''), it.score.toFixed(4), esc(it.reason) + (it.pinned ? ' <b>pinned</b>' : ''), `<small>${signalText(it.item_id)}</small>`]);
  return `<section class="card" data-slot="${esc(r.slot)}"><h3>Slot <code>${esc(r.slot)}</code></h3>
<p class="meta">strategy <b>${esc(r.strategy)}</b>${r.fallback ? ' (fallback)' : ''} · model ${esc(r.model_version ?? 'none')} · experiment ${esc(r.experiment ?? '—')}${r.variant ? ` / ${esc(r.variant)}` : ''} · template ${esc(s.template.source)}</p>
<p class="meta">segments (score): <span data-testid="segments">${segs}</span></p>
${table(['#', 'item', 'title', 'category', 'score', 'reason', 'signals'], rows, ' class="preview-items"')}</section>`;
}

export function previewPage(input: PreviewInput, segments: string[], served: ServedSlot[] | null, signals: Record<string, Signal[]>[]): string {
  const f = served?.[0]?.features;
  const history = f?.recent.length
    ? `<section class="card"><h3>History</h3>${table(['when', 'event', 'item'], f.recent.slice(0, 12).map((e) => [new Date(e.ts).toISOString().slice(0, 19).replace('T', ' '), esc(e.type), `<code>${esc(e.itemId)}</code>`]), ' data-testid="history"')}
<p class="meta">cart: ${esc(f.cart.join(', ') || '—')} · bought: ${esc(f.purchased.slice(0, 10).join(', ') || '—')}${f.profile ? ` · profile: ${f.profile.purchaseCount} purchases, ${f.profile.eventCount} events` : ''}</p></section>`
    : served
      ? '<p class="meta">No history for this shopper: the answer is what a new visitor sees.</p>'
      : '';
  return `<form method="get" action="/console/preview" class="card"><div class="row">
<div><label for="session_id">Session id</label><input type="text" id="session_id" name="session_id" value="${esc(input.session_id ?? '')}"></div>
<div><label for="user_id">Signed-in user id</label><input type="text" id="user_id" name="user_id" value="${esc(input.user_id ?? '')}"></div>
<div><label for="segment">or as a segment</label><select id="segment" name="segment"><option value="">(from the shopper's history)</option>${segments.map((g) => `<option${g === input.segment ? ' selected' : ''}>${esc(g)}</option>`).join('')}</select></div>
<div><label for="slots">Slots (comma separated)</label><input type="text" id="slots" name="slots" value="${esc(input.slots.join(','))}"></div>
<div><label for="k">Items per slot</label><input type="number" id="k" name="k" min="1" max="50" value="${input.k}"></div></div>
<p><button type="submit">Preview</button></p></form>${history}${(served ?? []).map((s, i) => servedSlot(s, signals[i] ?? {})).join('')}`;
}

export function slotsPage(slots: { slot: string; updatedAt: number; template: string | null }[]): string {
  return `${table(
    ['slot', 'template', 'updated'],
    slots.map((s) => [`<a href="/console/slots/${encodeURIComponent(s.slot)}"><code>${esc(s.slot)}</code></a>`, s.template ? 'custom' : 'default', new Date(s.updatedAt).toISOString().slice(0, 16).replace('T', ' ')]),
  )}
<form method="get" action="/console/slots/edit" class="card"><label for="slot">Edit or create a slot</label><input type="text" id="slot" name="slot" required> <button type="submit">Open</button></form>`;
}

export function slotEditPage(slot: string, cfg: SlotConfig, rules: string, sessionId: string, initial: ServedSlot | null, error?: string): string {
  const block = initial ? renderBlock(initial.response, initial.template.html, initial.display) : '';
  const template = cfg.template ?? '';
  return `${error ? `<p class="error" role="alert">${esc(error)}</p>` : ''}<div class="row"><form method="post" action="/console/slots/${encodeURIComponent(slot)}" id="slot-form" class="card" data-preview="/console/slots/${encodeURIComponent(slot)}/preview">
<label for="template">Template (Mustache-style; empty: the default)</label><textarea id="template" name="template" rows="14">${esc(template)}</textarea>
<label for="rules">Rules (JSON: pin, boost, bury, max_per_category)</label><textarea id="rules" name="rules" rows="8">${esc(rules)}</textarea>
<div class="row"><div><label for="currency">Currency (empty: the environment's)</label><input type="text" id="currency" name="currency" value="${esc(cfg.currency ?? '')}" placeholder="EUR"></div>
<div><label for="locale">Locale (empty: the environment's)</label><input type="text" id="locale" name="locale" value="${esc(cfg.locale ?? '')}" placeholder="de-DE"></div></div>
<label for="preview_session">Preview as session</label><input type="text" id="preview_session" name="preview_session" value="${esc(sessionId)}">
<p><button type="submit">Save</button> <small id="preview-status" role="status"></small></p></form>
<section class="card"><h3>Live preview</h3><p class="error" id="preview-error" hidden></p><iframe class="preview" id="preview" sandbox="" title="slot preview" srcdoc="${esc(block)}"></iframe></section></div>`;
}

export function experimentsPage(cards: string[], experiments: { id: string; name?: string | null; status: string }[], draft: string): string {
  const actions = table(
    ['experiment', 'status', ''],
    experiments.map((e) => [
      `<code>${esc(e.id)}</code> ${esc(e.name ?? '')}`,
      `<span class="badge ${esc(e.status)}">${esc(e.status)}</span>`,
      (['start', 'pause', 'stop'] as const)
        .filter((a) => (a === 'start' ? e.status === 'draft' || e.status === 'paused' : a === 'pause' ? e.status === 'running' : e.status !== 'stopped'))
        .map((a) => `<form method="post" action="/console/experiments/${encodeURIComponent(e.id)}/${a}" class="inline"><button type="submit" class="${a === 'start' ? '' : 'secondary'}">${a}</button></form>`)
        .join(' '),
    ]),
  );
  return `<section class="card">${actions}</section>
<form method="post" action="/console/experiments" class="card"><label for="experiment">New experiment (JSON, as POST /v1/admin/experiments takes it)</label><textarea id="experiment" name="experiment" rows="10">${esc(draft)}</textarea><p><button type="submit">Create as draft</button></p></form>
${cards.join('') || '<p>No experiments yet.</p>'}`;
}

export function modelsPage(models: { version: string; status: string; created_at: number; activated_at: number | null; bytes: number }[], canary: { running: Record<string, unknown> | null }): string {
  const running = canary.running;
  const rows = models.map((m) => [
    `<code>${esc(m.version)}</code>`,
    `<span class="badge ${m.status === 'active' ? 'running' : ''}">${esc(m.status)}</span>${running?.version === m.version ? ' <b>canary</b>' : ''}`,
    new Date(m.created_at).toISOString().slice(0, 16).replace('T', ' '),
    `${(m.bytes / 1024).toFixed(0)} KiB`,
    m.status === 'active'
      ? ''
      : `<form method="post" action="/console/models/${encodeURIComponent(m.version)}/canary" class="inline"><input type="number" name="share" min="0.01" max="0.99" step="0.01" value="0.1" style="width:70px" aria-label="canary share"> <button type="submit" class="secondary">canary</button></form> <form method="post" action="/console/models/${encodeURIComponent(m.version)}/activate" class="inline"><button type="submit">promote</button></form>`,
  ]);
  return `${running ? `<p class="done">Canary running: <code>${esc(String(running.version))}</code> on ${pct(Number(running.share), 0)} of traffic. <form method="post" action="/console/models/canary/abort" class="inline"><button type="submit" class="secondary">abort canary</button></form></p>` : ''}
${table(['version', 'status', 'created', 'size', ''], rows, ' data-testid="models"')}
<form method="post" action="/console/models/rollback" class="card"><button type="submit" class="secondary">Roll back to the previous version</button></form>`;
}
