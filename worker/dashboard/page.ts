/**
 * The admin dashboard: one server-rendered HTML page (no scripts, charts as inline SVG), so
 * it needs nothing but the admin bearer token on the request. Shows the active model, the
 * global holdout, and per experiment its KPIs with intervals, CTR over time, and for bandits
 * the traffic allocation over time and the posteriors.
 */
import { activeModel } from '../inference/registry';
import { escapeHtml as esc } from '../render/escape';
import { displayFor, priceFormat, type Display } from '../render/locale';
import type { Experiment } from '../experiments/config';
import { experimentReport, type Report, type SeriesPoint } from '../experiments/report';
import type { Interval } from '../experiments/stats';
import { getHoldout, listExperiments } from '../experiments/store';

const COLORS = ['#2563eb', '#16a34a', '#dc2626', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777', '#4b5563', '#65a30d'];
const pct = (x: number, d = 2) => `${(x * 100).toFixed(d)}%`;
const ci = (i: Interval, f: (x: number) => string) => `${f(i.estimate)} <small>[${f(i.low)}, ${f(i.high)}]</small>`;
const pval = (p: number) => (p < 0.0001 ? '&lt;0.0001' : p.toFixed(4));

function timeLabel(t: number, bucketMs: number): string {
  const iso = new Date(t).toISOString();
  return bucketMs >= 86_400_000 ? iso.slice(5, 10) : bucketMs < 60_000 ? iso.slice(11, 19) : iso.slice(11, 16);
}

// The frame of the time-series charts: size and margins (left, right, top, bottom), in SVG units.
const W = 520;
const H = 220;
const L = 56;
const R = 12;
const T = 28;
const B = 34;

/** Line chart: one polyline per series, y from 0 to the max value. */
export function lineChart(title: string, series: { name: string; color: string; points: [number, number][] }[], opts: { yFormat: (y: number) => string; xLabel: (x: number) => string; yMax?: number }): string {
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  if (!xs.length) return `<figure class="chart"><figcaption>${esc(title)}</figcaption><p class="empty">no data yet</p></figure>`;
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const yMax = opts.yMax ?? Math.max(1e-9, ...ys) * 1.15;
  const sx = (x: number) => L + (x1 === x0 ? (W - L - R) / 2 : ((x - x0) / (x1 - x0)) * (W - L - R));
  const sy = (y: number) => T + (1 - y / yMax) * (H - T - B);
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => `<line x1="${L}" x2="${W - R}" y1="${sy(f * yMax)}" y2="${sy(f * yMax)}" class="grid"/><text x="${L - 6}" y="${sy(f * yMax) + 4}" text-anchor="end">${esc(opts.yFormat(f * yMax))}</text>`)
    .join('');
  const xt = [x0, (x0 + x1) / 2, x1].map((x, i) => `<text x="${sx(x)}" y="${H - 12}" text-anchor="${['start', 'middle', 'end'][i]}">${esc(opts.xLabel(x))}</text>`).join('');
  const lines = series
    .map((s) => `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${s.points.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>`)
    .join('');
  const legend = series.map((s, i) => `<g transform="translate(${L + i * 110},14)"><rect width="10" height="10" y="-9" fill="${s.color}"/><text x="14">${esc(s.name)}</text></g>`).join('');
  return `<figure class="chart"><figcaption>${esc(title)}</figcaption><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${grid}${xt}${lines}${legend}</svg></figure>`;
}

/** Stacked area chart of shares (each x sums to 1). */
export function shareChart(title: string, names: string[], points: SeriesPoint[], bucketMs: number): string {
  const ts = [...new Set(points.map((p) => p.t))].sort((a, b) => a - b);
  if (!ts.length) return `<figure class="chart"><figcaption>${esc(title)}</figcaption><p class="empty">no traffic yet</p></figure>`;
  const x0 = ts[0]!;
  const x1 = ts.at(-1)!;
  const sx = (x: number) => L + (x1 === x0 ? (W - L - R) / 2 : ((x - x0) / (x1 - x0)) * (W - L - R));
  const sy = (y: number) => T + (1 - y) * (H - T - B);
  const share = (t: number, n: string) => points.find((p) => p.t === t && p.variant === n)?.share ?? 0;
  const bands: string[] = [];
  const lower = ts.map(() => 0);
  names.forEach((n, i) => {
    const upper = ts.map((t, j) => lower[j]! + share(t, n));
    const top = ts.map((t, j) => `${sx(t).toFixed(1)},${sy(upper[j]!).toFixed(1)}`);
    const bottom = ts.map((t, j) => `${sx(t).toFixed(1)},${sy(lower[j]!).toFixed(1)}`).reverse();
    bands.push(`<polygon fill="${COLORS[i % COLORS.length]}" fill-opacity="0.75" points="${[...top, ...bottom].join(' ')}"/>`);
    upper.forEach((u, j) => (lower[j] = u));
  });
  const grid = [0, 0.5, 1].map((f) => `<text x="${L - 6}" y="${sy(f) + 4}" text-anchor="end">${pct(f, 0)}</text><line x1="${L}" x2="${W - R}" y1="${sy(f)}" y2="${sy(f)}" class="grid"/>`).join('');
  const xt = [x0, x1].map((x, i) => `<text x="${sx(x)}" y="${H - 12}" text-anchor="${i ? 'end' : 'start'}">${esc(timeLabel(x, bucketMs))}</text>`).join('');
  const legend = names.map((n, i) => `<g transform="translate(${L + i * 110},14)"><rect width="10" height="10" y="-9" fill="${COLORS[i % COLORS.length]}"/><text x="14">${esc(n)}</text></g>`).join('');
  return `<figure class="chart"><figcaption>${esc(title)}</figcaption><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${bands.join('')}${grid}${xt}${legend}</svg></figure>`;
}

/** Horizontal interval plot: estimate with its 95% interval per variant. */
export function intervalChart(title: string, rows: { name: string; color: string; i: Interval }[], fmt: (x: number) => string): string {
  // Same width as the time-series charts; a wider left margin for variant names, one row per variant.
  const rowH = 26;
  const L = 90;
  const R = 20;
  const H = 40 + rows.length * rowH;
  const hi = Math.max(1e-9, ...rows.map((r) => r.i.high)) * 1.1;
  const sx = (x: number) => L + (x / hi) * (W - L - R);
  const body = rows
    .map((r, k) => {
      const y = 30 + k * rowH;
      return `<text x="${L - 8}" y="${y + 4}" text-anchor="end">${esc(r.name)}</text><line x1="${sx(r.i.low)}" x2="${sx(r.i.high)}" y1="${y}" y2="${y}" stroke="${r.color}" stroke-width="3"/><circle cx="${sx(r.i.estimate)}" cy="${y}" r="5" fill="${r.color}"/><text x="${sx(r.i.high) + 6}" y="${y + 4}">${esc(fmt(r.i.estimate))}</text>`;
    })
    .join('');
  const axis = [0, hi / 2, hi].map((x) => `<text x="${sx(x)}" y="${H - 4}" text-anchor="middle">${esc(fmt(x))}</text>`).join('');
  return `<figure class="chart"><figcaption>${esc(title)}</figcaption><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${body}${axis}</svg></figure>`;
}

/** `display`: the environment's CURRENCY and LOCALE, for revenue and counts. */
function experimentCard(e: Experiment, r: Report, display: Display): string {
  const money = priceFormat(display);
  const names = e.variants.map((v) => v.name);
  const color = (n: string) => COLORS[names.indexOf(n) % COLORS.length]!;
  const rows = r.variants
    .map(
      (v) => `<tr><td><span class="dot" style="background:${color(v.name)}"></span>${esc(v.name)}${v.control ? ' <em>control</em>' : ''}</td><td>${esc(v.strategy)}</td>
      <td>${v.visitors}</td><td>${v.impressions}</td><td>${ci(v.ctr, pct)}</td><td>${ci(v.conversion_rate, pct)}</td><td>${ci(v.revenue_per_visitor, money)}</td>
      <td>${v.uplift?.ctr.relative ? ci(v.uplift.ctr.relative, (x) => pct(x, 1)) : '—'}</td><td>${v.z_test ? pval(v.z_test.p) : '—'}</td>
      <td>${v.sequential ? `${pval(v.sequential.p)}${v.sequential.significant ? ' <b class="sig">significant</b>' : ''}` : '—'}</td></tr>`,
    )
    .join('');
  const srm = r.srm
    ? r.srm.mismatch
      ? `<p class="warn">Sample ratio mismatch: χ²=${r.srm.chi2.toFixed(1)}, p=${pval(r.srm.p)} — assignment is off; do not trust these results.</p>`
      : `<p class="ok">Sample ratio OK (χ²=${r.srm.chi2.toFixed(2)}, p=${pval(r.srm.p)})</p>`
    : '';
  const ctrSeries = names.map((n) => ({ name: n, color: color(n), points: r.series.points.filter((p) => p.variant === n && p.impressions + p.served > 0).map((p) => [p.t, p.ctr] as [number, number]) }));
  const charts = [
    lineChart('Cumulative CTR per variant', ctrSeries, { yFormat: (y) => pct(y, 1), xLabel: (x) => timeLabel(x, r.series.bucket_ms) }),
    intervalChart('CTR with 95% interval', r.variants.map((v) => ({ name: v.name, color: color(v.name), i: v.ctr })), (x) => pct(x, 1)),
  ];
  if (e.kind === 'bandit') {
    charts.push(shareChart('Bandit traffic allocation over time', names, r.series.points, r.series.bucket_ms));
    const ctxs = Object.entries(r.bandit?.contexts ?? {});
    charts.push(
      `<figure class="chart"><figcaption>Posteriors and current allocation</figcaption><table class="small"><tr><th>context</th>${names.map((n) => `<th>${esc(n)}</th>`).join('')}</tr>${ctxs
        .map(([ctx, arms]) => `<tr><td>${esc(ctx || '(all)')}</td>${names.map((n) => `<td>mean ${pct(arms[n]?.mean ?? 0)}<br><small>${arms[n]?.successes ?? 0}/${arms[n]?.trials ?? 0} · alloc ${pct(arms[n]?.allocation ?? 0, 0)}</small></td>`).join('')}</tr>`)
        .join('')}</table></figure>`,
    );
  }
  const power = r.power.n_per_arm ? `Power: ${r.power.n_per_arm.toLocaleString(display.locale)} ${r.primary_metric === 'ctr' ? 'impressions' : 'visitors'} per arm detect +${pct(r.power.mde, 1)} from ${pct(r.power.baseline)} (α=0.05, 80%).` : '';
  return `<section class="exp" data-experiment="${esc(e.id)}"><h2>${esc(e.name ?? e.id)} <span class="badge ${esc(e.status)}">${esc(e.status)}</span> <span class="badge">${e.kind === 'bandit' ? 'bandit' : 'A/B'}</span></h2>
  <p class="meta">slot <code>${esc(e.slot)}</code> · metric ${esc(e.metric)} · window ${e.attribution_window_hours} h · traffic ${pct(e.traffic, 0)}${e.targeting.segments?.length ? ` · segments ${esc(e.targeting.segments.join(', '))}` : ''} · ${power}</p>${srm}
  <table><thead><tr><th>variant</th><th>strategy</th><th>visitors</th><th>impressions</th><th>CTR</th><th>conversion</th><th>revenue / visitor</th><th>CTR uplift</th><th>z-test p</th><th>mSPRT p</th></tr></thead><tbody>${rows}</tbody></table>
  <div class="charts">${charts.join('')}</div></section>`;
}

/** The experiment cards (newest first, running ones on top) with the model and holdout they ran under; the console's experiments page shows them too. */
export async function experimentCards(env: Env): Promise<{ cards: string[]; count: number; model: string | undefined; holdout: number }> {
  const [all, model, holdout] = await Promise.all([listExperiments(env.DB), activeModel(env.DB).catch(() => undefined), getHoldout(env.DB)]);
  const order = { running: 0, paused: 1, draft: 2, stopped: 3 } as const;
  const shown = [...all].sort((a, b) => order[a.status] - order[b.status] || b.created_at - a.created_at).slice(0, 12);
  const display = displayFor(env, { currency: null, locale: null });
  const cards = await Promise.all(shown.map(async (e) => experimentCard(e, await experimentReport(env, e), display)));
  return { cards, count: all.length, model: model?.version, holdout };
}

export const DASHBOARD_CSS = `body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f8fafc;color:#0f172a}
header{background:#0f172a;color:#f8fafc;padding:12px 24px;display:flex;gap:24px;align-items:baseline}
header h1{font-size:18px;margin:0}main{padding:16px 24px}
.exp{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:12px 16px;margin-bottom:16px}
.exp h2{font-size:16px;margin:0 0 4px}.meta{color:#475569;margin:0 0 8px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e2e8f0;vertical-align:top}
th{font-weight:600;color:#334155}small{color:#64748b}.dot{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:6px}
.badge{font-size:11px;padding:1px 6px;border-radius:8px;background:#e2e8f0;vertical-align:middle}.badge.running{background:#bbf7d0}.badge.paused{background:#fde68a}.badge.stopped{background:#e5e7eb}
.charts{display:flex;flex-wrap:wrap;gap:12px;margin-top:10px}.chart{margin:0;background:#fff;border:1px solid #f1f5f9;padding:4px}
figcaption{font-weight:600;font-size:13px;margin:2px 4px}svg text{font-size:11px;fill:#334155}.grid{stroke:#e2e8f0}
.warn{background:#fee2e2;color:#991b1b;padding:6px 10px;border-radius:6px}.ok{color:#166534;margin:0 0 6px}.sig{color:#166534}.empty{color:#94a3b8;padding:40px 60px}
table.small td,table.small th{font-size:12px}
`;

export async function renderDashboard(env: Env): Promise<string> {
  const { cards, count, model, holdout } = await experimentCards(env);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Experiments — edge-p13n</title><meta name="viewport" content="width=device-width, initial-scale=1">
<style>
${DASHBOARD_CSS}</style></head><body>
<header><h1>Experiments &amp; bandits</h1><span>Active model: <b data-testid="model-version">${esc(model ?? 'none (popularity fallback)')}</b></span><span>Global holdout: ${pct(holdout, 1)}</span><span>${count} experiments</span></header>
<main>${cards.join('') || '<p>No experiments yet. Create one with POST /v1/admin/experiments.</p>'}</main></body></html>`;
}
