/**
 * A small logic-less template language for slot HTML (a Mustache subset):
 * `{{name}}` (always HTML-escaped; there is no unescaped form), `{{a.b}}`,
 * `{{#list}}…{{/list}}` (loop, or block when truthy), `{{^name}}…{{/name}}` (when empty).
 */
import { escapeHtml } from './escape';

type Node = { t: 'text'; v: string } | { t: 'var'; path: string[] } | { t: 'section' | 'inverted'; path: string[]; children: Node[] };

export class TemplateError extends Error {}

const TAG = /\{\{\s*([#^/]?)\s*([\w.]+)\s*\}\}/g;

export function parseTemplate(src: string): Node[] {
  const root: Node[] = [];
  const stack: { name: string; children: Node[] }[] = [{ name: '', children: root }];
  let last = 0;
  for (const m of src.matchAll(TAG)) {
    const top = stack[stack.length - 1]!;
    if (m.index! > last) top.children.push({ t: 'text', v: src.slice(last, m.index) });
    last = m.index! + m[0].length;
    const [, sigil, name] = m as unknown as [string, string, string];
    if (sigil === '#' || sigil === '^') {
      const node: Node = { t: sigil === '#' ? 'section' : 'inverted', path: name.split('.'), children: [] };
      top.children.push(node);
      stack.push({ name, children: node.children });
    } else if (sigil === '/') {
      if (stack.length === 1 || top.name !== name) throw new TemplateError(`unexpected {{/${name}}}`);
      stack.pop();
    } else top.children.push({ t: 'var', path: name.split('.') });
  }
  if (stack.length > 1) throw new TemplateError(`unclosed {{#${stack[stack.length - 1]!.name}}}`);
  if (last < src.length) root.push({ t: 'text', v: src.slice(last) });
  return root;
}

function lookup(scopes: unknown[], path: string[]): unknown {
  for (let i = scopes.length - 1; i >= 0; i--) {
    const s = scopes[i];
    if (s && typeof s === 'object' && path[0]! in (s as object)) {
      return path.reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), s);
    }
  }
  return undefined;
}

function render(nodes: Node[], scopes: unknown[]): string {
  let out = '';
  for (const n of nodes) {
    if (n.t === 'text') out += n.v;
    else if (n.t === 'var') out += escapeHtml(lookup(scopes, n.path));
    else {
      const v = lookup(scopes, n.path);
      const empty = !v || (Array.isArray(v) && v.length === 0);
      if (n.t === 'inverted') {
        if (empty) out += render(n.children, scopes);
      } else if (Array.isArray(v)) for (const x of v) out += render(n.children, [...scopes, x]);
      else if (!empty) out += render(n.children, [...scopes, v]);
    }
  }
  return out;
}

const compiled = new Map<string, Node[]>();

export function renderTemplate(src: string, view: unknown): string {
  let nodes = compiled.get(src);
  if (!nodes) {
    nodes = parseTemplate(src);
    if (compiled.size > 100) compiled.clear();
    compiled.set(src, nodes);
  }
  return render(nodes, [view]);
}
