/**
 * The storefront snippet, served at /p13n.js. Include it with
 *   <script src="/p13n.js" defer></script>
 * It records, for blocks the proxy injected (`[data-p13n-rec]` with `[data-p13n-item-id]` items):
 *   - impression: an item at least half visible (IntersectionObserver), once per block and item;
 *   - click: a click on an injected item (the link itself is a plain link and works without JS);
 * and, from the storefront's own markup:
 *   - view: `data-p13n-view="<item id>"` on a product page, once per page load;
 *   - add_to_cart: a click on an element with `data-p13n-cart="<item id>"`.
 * Events go to /v1/events with navigator.sendBeacon, with a unique event_id each, the block's
 * recommendation_id and slot. The session is the HttpOnly cookie `p13n_sid`, which the beacon
 * carries and page scripts (this one included) cannot read: events name no session_id, the worker
 * fills in the cookie's. Consent: it sends nothing unless the marker cookie `p13n_on` exists (the
 * proxy sets it with the session cookie, only with consent, and removes both when consent is
 * withdrawn) and the browser does not signal Global Privacy Control.
 *
 * Hand-written ES2017 without dependencies, so no build step is needed; keep it under 3 KB gzip.
 */
export const SNIPPET_JS = `/* edge-p13n snippet */
(function () {
  'use strict';
  var d = document, w = window, n = navigator, url = '/v1/events';
  var queue = [], timer = 0, seen = {}, viewed = false;
  function allowed() { return /(?:^|;\\s*)p13n_on=1/.test(d.cookie) && !n.globalPrivacyControl; }
  function uid() {
    if (w.crypto && crypto.randomUUID) return crypto.randomUUID();
    var a = new Uint8Array(16); crypto.getRandomValues(a);
    return Array.prototype.map.call(a, function (b) { return (b + 256).toString(16).slice(1); }).join('');
  }
  function flush() {
    clearTimeout(timer); timer = 0;
    if (!queue.length) return;
    if (!allowed()) { queue = []; return; }
    var body = JSON.stringify({ events: queue.splice(0, 100) });
    var sent = false;
    try { sent = n.sendBeacon && n.sendBeacon(url, new Blob([body], { type: 'application/json' })); } catch (e) {}
    if (!sent && w.fetch) fetch(url, { method: 'POST', body: body, keepalive: true, headers: { 'content-type': 'application/json' } }).catch(function () {});
    if (queue.length) flush();
  }
  function track(type, item, rec, slot, now) {
    if (!item || !allowed()) return;
    var e = { event_id: uid(), type: type, item_id: item, timestamp: Date.now() };
    if (rec) e.recommendation_id = rec;
    if (slot) e.slot = slot;
    queue.push(e);
    if (now) flush(); else if (!timer) timer = setTimeout(flush, 1000);
  }
  function ctx(el) {
    var block = el.closest('[data-p13n-rec]'), slot = el.closest('[data-p13n-slot]');
    return { rec: block ? block.getAttribute('data-p13n-rec') : '', slot: slot ? slot.getAttribute('data-p13n-slot') : '' };
  }
  function impression(el) {
    var c = ctx(el), id = el.getAttribute('data-p13n-item-id'), key = c.rec + '|' + id;
    if (seen[key]) return;
    seen[key] = 1;
    track('impression', id, c.rec, c.slot);
  }
  function scan() {
    if (!viewed) {
      var v = d.querySelector('[data-p13n-view]');
      if (v) { viewed = true; track('view', v.getAttribute('data-p13n-view'), '', '', true); }
    }
    var items = d.querySelectorAll('[data-p13n-rec] [data-p13n-item-id]');
    if (!items.length) return;
    if (!w.IntersectionObserver) return;
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (en) {
        if (en.isIntersecting) { impression(en.target); io.unobserve(en.target); }
      });
    }, { threshold: 0.5 });
    Array.prototype.forEach.call(items, function (el) { io.observe(el); });
  }
  d.addEventListener('click', function (ev) {
    var t = ev.target;
    if (!t || !t.closest) return;
    var item = t.closest('[data-p13n-rec] [data-p13n-item-id]');
    if (item) { var c = ctx(item); track('click', item.getAttribute('data-p13n-item-id'), c.rec, c.slot, true); }
    var cart = t.closest('[data-p13n-cart]');
    if (cart) track('add_to_cart', cart.getAttribute('data-p13n-cart'), '', '', true);
  }, true);
  d.addEventListener('visibilitychange', function () { if (d.visibilityState === 'hidden') flush(); });
  w.addEventListener('pagehide', flush);
  if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', scan); else scan();
})();
`;

export function snippetResponse(): Response {
  return new Response(SNIPPET_JS, {
    headers: {
      'content-type': 'application/javascript; charset=utf-8',
      'cache-control': 'public, max-age=300',
      'x-content-type-options': 'nosniff',
    },
  });
}
