/**
 * The currency and locale a slot is rendered with: the slot config's own (PUT /v1/admin/slots),
 * else the environment's CURRENCY / LOCALE ([vars]). The locale sets the number format and the
 * language of the reasons (worker/render/messages.ts).
 */
import { Lru } from '../lib/lru';
import { currencyVar, localeVar } from '../lib/vars';

export interface Display {
  currency: string;
  locale: string;
}

export function displayFor(env: { CURRENCY?: string; LOCALE?: string }, slot: { currency: string | null; locale: string | null }): Display {
  const base = { currency: currencyVar(env.CURRENCY), locale: localeVar(env.LOCALE) };
  return { currency: currencyVar(slot.currency, base.currency), locale: localeVar(slot.locale, base.locale) };
}

/** Prices as the shopper reads them ("1.234,50 €" for EUR in de-DE). */
export function priceFormat(d: Display): (price: number) => string {
  const key = `${d.locale}|${d.currency}`;
  let fmt = formats.get(key);
  if (!fmt) {
    // A formatter costs far more to build than to use; slots share a few (locale, currency) pairs.
    formats.set(key, (fmt = new Intl.NumberFormat(d.locale, { style: 'currency', currency: d.currency })));
  }
  const f = fmt;
  return (price) => f.format(price);
}

const formats = new Lru<string, Intl.NumberFormat>(64);
