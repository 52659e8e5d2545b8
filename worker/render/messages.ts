/**
 * Reasons said in a language: one message template per reason code and language, `{name}`
 * placeholders filled from the reason's params. A locale ("de-DE") uses its language's table
 * ("de"); a language without a table, or a code missing from one, says it in English.
 * To add a language, add a table here (every code, the same placeholders).
 */
import type { ReasonCode } from '../schemas/recommendations';

type Table = Record<ReasonCode, string>;

const en: Table = {
  featured: 'Featured',
  similar_to: 'Similar to {item}',
  often_viewed_with: 'Often viewed with {item}',
  because_you_viewed: 'Because you viewed {item}',
  because_you_added: 'Because you added {item}',
  because_you_bought: 'Because you bought {item}',
  brand_interest: 'Matches your interest in {brand}',
  more_in_category: 'More in {category} for you',
  popular_in_category: 'Popular in {category}',
  popular_now: 'Popular right now',
  trending_in_category: 'Trending in {category}',
  trending_now: 'Trending now',
  picked_for_you: 'Picked for you',
};

const de: Table = {
  featured: 'Empfohlen',
  similar_to: 'Ähnlich wie {item}',
  often_viewed_with: 'Oft zusammen angesehen mit {item}',
  because_you_viewed: 'Weil Sie {item} angesehen haben',
  because_you_added: 'Weil Sie {item} in den Warenkorb gelegt haben',
  because_you_bought: 'Weil Sie {item} gekauft haben',
  brand_interest: 'Passend zu Ihrem Interesse an {brand}',
  more_in_category: 'Mehr aus {category} für Sie',
  popular_in_category: 'Beliebt in {category}',
  popular_now: 'Gerade beliebt',
  trending_in_category: 'Im Trend in {category}',
  trending_now: 'Gerade im Trend',
  picked_for_you: 'Für Sie ausgewählt',
};

const TABLES: Record<string, Partial<Table>> = { en, de };

/** The reason in `locale`'s language (English when there is no message for it). */
export function reasonMessage(code: ReasonCode, params: Record<string, string>, locale = 'en'): string {
  const lang = locale.split('-')[0]!.toLowerCase();
  const template = TABLES[lang]?.[code] ?? en[code];
  return template.replace(/\{(\w+)\}/g, (m, name: string) => params[name] ?? m);
}
