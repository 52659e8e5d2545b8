/**
 * The console's one script (served as /console/assets/console.js, allowed by the CSP as 'self'):
 * the slot editor's live preview. Each edit posts the draft template and rules (JSON, so the
 * browser's CORS rules keep other sites out) and shows the rendered block in a sandboxed frame.
 */
export const CONSOLE_JS = `'use strict';
(() => {
  const form = document.getElementById('slot-form');
  if (!form) return;
  const frame = document.getElementById('preview');
  const error = document.getElementById('preview-error');
  const status = document.getElementById('preview-status');
  let timer = 0;
  let seq = 0;
  const run = async () => {
    const n = ++seq;
    status.textContent = 'previewing…';
    let res, body;
    try {
      res = await fetch(form.dataset.preview, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ template: form.template.value, rules: form.rules.value, session_id: form.preview_session.value, currency: form.currency.value, locale: form.locale.value }),
      });
      body = await res.json();
    } catch (e) {
      res = { ok: false, status: 0 };
      body = { error: { message: 'preview failed: ' + e } };
    }
    if (n !== seq) return;
    if (res.ok) {
      frame.srcdoc = body.html;
      error.hidden = true;
      status.textContent = 'preview updated';
    } else {
      error.textContent = (body && body.error && body.error.message) || 'preview failed (' + res.status + ')';
      error.hidden = false;
      status.textContent = '';
    }
  };
  form.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(run, 250);
  });
})();
`;
