/** Reading settings from wrangler.toml [vars] (strings), with a default for missing or bad values. */
import { Lru } from './lru';

export const DAY_MS = 86_400_000;

/** A positive number from a [vars] value, or `fallback` when it is missing, not a number, or not above 0. */
export function positiveVar(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** A finite number (0 allowed: tests turn caches off with "0") from a [vars] value, or `fallback`. */
export function numberVar(value: string | undefined, fallback: number): number {
  return value !== undefined && Number.isFinite(Number(value)) ? Number(value) : fallback;
}

/** A retention setting in days ("30") as milliseconds. */
export function retentionMs(days: unknown, fallbackDays: number): number {
  return positiveVar(days, fallbackDays) * DAY_MS;
}

/** Canonical forms already computed: Intl.getCanonicalLocales costs ~0.1 ms, and every served slot asks (config values: a handful). */
const canonical = new Lru<string, string | null>(256);

/** A BCP 47 locale tag in canonical form ("de-DE"), or null when it is not one. */
export function validLocale(value: unknown): string | null {
  if (typeof value !== 'string' || !value) return null;
  const known = canonical.get(value);
  if (known !== undefined) return known;
  let out: string | null;
  try {
    out = Intl.getCanonicalLocales(value)[0] ?? null;
  } catch {
    out = null;
  }
  canonical.set(value, out);
  return out;
}

/** An ISO 4217 currency code ("EUR") from [vars] or a slot config, or `fallback` when missing or malformed. */
export function currencyVar(value: unknown, fallback = 'USD'): string {
  return typeof value === 'string' && /^[A-Za-z]{3}$/.test(value) ? value.toUpperCase() : fallback;
}

/** A locale ("de-DE") from [vars] or a slot config, or `fallback` when missing or not a valid tag. */
export function localeVar(value: unknown, fallback = 'en-US'): string {
  return validLocale(value) ?? fallback;
}
