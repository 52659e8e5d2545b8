import { z } from '@hono/zod-openapi';
import { validLocale } from '../lib/vars';
import { Id } from './common';

const Match = z
  .object({ item_ids: z.array(Id).optional(), category: z.string().optional(), brand: z.string().optional() })
  .refine((m) => m.item_ids || m.category || m.brand, 'needs item_ids, category or brand');

/** Merchandising rules applied after scoring, in this order: boost/bury, per-category cap, pins. */
export const SlotRulesSchema = z
  .object({
    pin: z.array(z.object({ item_id: Id, position: z.number().int().min(1).max(100) })).max(20).default([]),
    boost: z.array(Match.and(z.object({ factor: z.number().positive().max(100) }))).max(50).default([]),
    bury: z.array(Match).max(50).default([]),
    max_per_category: z.number().int().min(1).max(100).optional(),
  })
  .openapi('SlotRules');

export type SlotRules = z.output<typeof SlotRulesSchema>;

export const SlotConfigSchema = z
  .object({
    rules: SlotRulesSchema.default({ pin: [], boost: [], bury: [] }),
    template: z.string().max(20_000).nullish().openapi({ description: 'HTML template; null uses the bundled default' }),
    currency: z
      .string()
      .regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as EUR')
      .nullish()
      .openapi({ description: "Currency of the block's prices; null uses the environment's CURRENCY", example: 'EUR' }),
    locale: z
      .string()
      .refine((l) => validLocale(l) !== null, 'must be a BCP 47 locale such as de-DE')
      .nullish()
      .openapi({ description: "Number format and language of the block's reasons; null uses the environment's LOCALE", example: 'de-DE' }),
  })
  .openapi('SlotConfig');
