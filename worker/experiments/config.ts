/** Experiment and segment definitions: the zod schemas the admin API validates and D1 stores. */
import { z } from '@hono/zod-openapi';
import { Id } from '../schemas/common';

const Slug = z
  .string()
  .trim()
  .min(1)
  .max(48)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, "_", "-" and "." only');

export const STRATEGIES = ['model', 'model_version', 'popular', 'editorial', 'control'] as const;

export const VariantSchema = z
  .object({
    name: Slug.openapi({ example: 'B' }),
    weight: z.number().min(0).max(1000).default(1).openapi({ description: 'Relative traffic weight (A/B/n); ignored by bandits' }),
    control: z.boolean().default(false).openapi({ description: 'The baseline other variants are compared with (default: the first variant)' }),
    strategy: z.enum(STRATEGIES).default('model').openapi({
      description: 'model = active model; model_version = a specific registered version; popular = popularity list; editorial = the `items` list; control = no personalization',
    }),
    model_version: Id.optional(),
    items: z.array(Id).max(100).optional().openapi({ description: 'Editorial list (strategy "editorial")' }),
    template: z.string().max(20_000).optional().openapi({ description: "HTML template for /v1/blocks (overrides the slot's)" }),
    k: z.number().int().min(1).max(100).optional().openapi({ description: 'Number of items (overrides the request)' }),
    diversity: z.number().int().min(1).max(100).optional().openapi({ description: 'Max items per category (overrides the slot rule)' }),
    payload: z.record(z.string(), z.unknown()).optional().openapi({ description: 'Opaque data returned with the variant (banner, offer…)' }),
  })
  .superRefine((v, ctx) => {
    if (v.strategy === 'model_version' && !v.model_version) ctx.addIssue({ code: 'custom', path: ['model_version'], message: 'is required for strategy "model_version"' });
    if (v.strategy === 'editorial' && !v.items?.length) ctx.addIssue({ code: 'custom', path: ['items'], message: 'is required for strategy "editorial"' });
  })
  .openapi('ExperimentVariant');

export const ExperimentInputSchema = z
  .object({
    id: Slug.openapi({ example: 'home-banner-test' }),
    name: z.string().trim().min(1).max(200).optional(),
    slot: Id,
    kind: z.enum(['ab', 'bandit']).default('ab').openapi({ description: 'ab = sticky weighted assignment; bandit = Thompson sampling per request' }),
    variants: z.array(VariantSchema).min(2).max(10),
    traffic: z.number().min(0).max(1).default(1).openapi({ description: 'Share of eligible shoppers that enter the experiment' }),
    targeting: z
      .object({
        segments: z.array(Slug).max(20).optional().openapi({ description: 'Only shoppers in at least one of these segments' }),
        devices: z.array(z.enum(['mobile', 'desktop', 'other'])).optional(),
      })
      .default({}),
    metric: z.enum(['click', 'conversion']).default('click').openapi({ description: 'Primary metric and bandit reward' }),
    attribution_window_hours: z.number().positive().max(24 * 30).default(24),
    mde: z.number().positive().max(1).default(0.01).openapi({ description: 'Minimum detectable absolute effect: power calculation and the mSPRT mixing scale τ' }),
    bandit: z
      .object({
        min_exploration: z.number().min(0).max(1).default(0.05),
        context: z.enum(['none', 'segment', 'device']).default('none'),
        context_segments: z.array(Slug).max(20).optional().openapi({ description: 'Segments that select a separate posterior, in priority order' }),
        shards: z.number().int().min(1).max(32).default(4),
      })
      .default({ min_exploration: 0.05, context: 'none', shards: 4 }),
  })
  .superRefine((e, ctx) => {
    const names = new Set<string>();
    e.variants.forEach((v, i) => {
      if (names.has(v.name)) ctx.addIssue({ code: 'custom', path: ['variants', i, 'name'], message: 'is used twice' });
      names.add(v.name);
    });
    if (e.variants.filter((v) => v.control).length > 1) ctx.addIssue({ code: 'custom', path: ['variants'], message: 'at most one control variant' });
    if (e.kind === 'ab' && !e.variants.some((v) => v.weight > 0)) ctx.addIssue({ code: 'custom', path: ['variants'], message: 'at least one variant needs a weight > 0' });
  })
  .openapi('ExperimentInput');

export type ExperimentInput = z.output<typeof ExperimentInputSchema>;
export type Variant = z.output<typeof VariantSchema>;
export type ExperimentStatus = 'draft' | 'running' | 'paused' | 'stopped';

export interface Experiment extends ExperimentInput {
  status: ExperimentStatus;
  salt: string;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  stopped_at: number | null;
}

export function controlOf(e: Pick<ExperimentInput, 'variants'>): Variant {
  return e.variants.find((v) => v.control) ?? e.variants[0]!;
}

// ---- segments ------------------------------------------------------------------------

export const SEGMENT_FEATURES = [
  'purchase_count',
  'monetary',
  'days_since_last_purchase',
  'days_since_first_seen',
  'profile_events',
  'session_events',
  'cart_size',
  'hour',
  'night',
  'mobile',
  'deal_share',
  'brand_concentration',
] as const;
export type SegmentFeature = (typeof SEGMENT_FEATURES)[number];

const Feature = z.enum(SEGMENT_FEATURES);

export const SegmentRuleSchema = z
  .object({
    description: z.string().max(500).default(''),
    enabled: z.boolean().default(true),
    /** Hard conditions; all must hold. */
    when: z.array(z.object({ feature: Feature, op: z.enum(['<', '<=', '>', '>=', '==', '!=']), value: z.number() })).max(20).default([]),
    /**
     * Score = Σ weight·clamp((x - from) / (to - from), 0, 1) / Σ weight, in [0, 1]; from > to
     * means "smaller is more" (e.g. days since last purchase).
     */
    score: z
      .array(z.object({ feature: Feature, from: z.number(), to: z.number(), weight: z.number().positive().default(1) }).refine((t) => t.from !== t.to, 'from and to must differ'))
      .min(1)
      .max(20),
    /** A shopper is in the segment when the score reaches this. */
    threshold: z.number().min(0).max(1).default(0.5),
  })
  .openapi('SegmentRule');

export type SegmentRule = z.output<typeof SegmentRuleSchema>;

/** Built-in "customer DNA" rules; the admin API can edit, disable or add to them. */
export const DEFAULT_SEGMENTS: Record<string, SegmentRule> = {
  deal_seeker: {
    description: 'Interacts mostly with items tagged sale / deal / discount / clearance / promo',
    enabled: true,
    when: [],
    score: [{ feature: 'deal_share', from: 0, to: 0.6, weight: 1 }],
    threshold: 0.5,
  },
  brand_loyal: {
    description: 'Most brand interest goes to one brand (needs at least 3 interactions)',
    enabled: true,
    when: [{ feature: 'profile_events', op: '>=', value: 3 }],
    score: [{ feature: 'brand_concentration', from: 0.3, to: 0.8, weight: 1 }],
    threshold: 0.5,
  },
  night_owl: {
    description: 'Shops late at night (local hour 22:00-04:59)',
    enabled: true,
    when: [],
    score: [{ feature: 'night', from: 0, to: 1, weight: 1 }],
    threshold: 0.5,
  },
  new_visitor: {
    description: 'First seen less than a day ago',
    enabled: true,
    when: [],
    score: [{ feature: 'days_since_first_seen', from: 1, to: 0, weight: 1 }],
    threshold: 0.5,
  },
  returning: {
    description: 'First seen more than a day ago',
    enabled: true,
    when: [{ feature: 'profile_events', op: '>', value: 0 }],
    score: [{ feature: 'days_since_first_seen', from: 0, to: 1, weight: 1 }],
    threshold: 0.99,
  },
  high_value: {
    description: 'RFM: bought recently, often and for a lot',
    enabled: true,
    when: [{ feature: 'purchase_count', op: '>=', value: 1 }],
    score: [
      { feature: 'days_since_last_purchase', from: 90, to: 7, weight: 1 },
      { feature: 'purchase_count', from: 0, to: 5, weight: 1 },
      { feature: 'monetary', from: 0, to: 500, weight: 1 },
    ],
    threshold: 0.6,
  },
};
