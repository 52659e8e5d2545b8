/** Shopper rights (erasure and access): who the request is about, and what comes back. */
import { z } from '@hono/zod-openapi';
import { Id } from './common';

export const MAX_SESSION_IDS = 100;

export const ShopperRequestSchema = z
  .object({
    user_id: Id.optional().openapi({ description: 'The user id as the storefront knows it (pseudonymised before any lookup)' }),
    session_ids: z
      .array(Id)
      .min(1)
      .max(MAX_SESSION_IDS)
      .optional()
      .openapi({ description: "Session ids as the storefront knows them (e.g. the p13n_sid cookie); the user's own sessions are found without them" }),
  })
  .strict()
  .refine((r) => r.user_id !== undefined || r.session_ids !== undefined, { message: 'name the shopper: user_id and/or session_ids' })
  .openapi('ShopperRequest', { example: { user_id: 'customer-42', session_ids: ['Xk3b9v0q2LrT7sYw1aZp'] } });

export type ShopperRequest = z.output<typeof ShopperRequestSchema>;

const Subject = z.object({
  user_key: z.string().nullable().openapi({ description: 'Pseudonymised user key (never the raw id)' }),
  session_keys: z.array(z.string()).openapi({ description: 'Pseudonymised keys of every session covered' }),
});

export const ErasureCountsSchema = z.object({
  d1: z.record(z.string(), z.number().int()).openapi({ description: 'Rows deleted per D1 table' }),
  durable_objects: z.object({
    sessions_erased: z.number().int().openapi({ description: 'Session Durable Objects whose storage and alarm were deleted' }),
    buffered_events: z.number().int().openapi({ description: 'Events dropped from the event buffer (held there while D1 was failing)' }),
    rows: z.number().int(),
    pending_profile_events: z.number().int(),
    alarms_cleared: z.number().int(),
  }),
  r2: z.object({ objects_scanned: z.number().int(), objects_rewritten: z.number().int(), objects_deleted: z.number().int(), rows_removed: z.number().int() }),
});

export const ErasureReceiptSchema = z
  .object({
    receipt_id: z.string(),
    erased_at: z.string().openapi({ description: 'ISO-8601 time the erasure completed' }),
    subject: Subject,
  })
  .extend(ErasureCountsSchema.shape)
  .openapi('ErasureReceipt');

export type ErasureReceipt = z.infer<typeof ErasureReceiptSchema>;
export type ErasureCounts = z.infer<typeof ErasureCountsSchema>;

const Row = z.record(z.string(), z.unknown());

export const ShopperExportSchema = z
  .object({
    generated_at: z.string(),
    subject: Subject,
    profile: Row.nullable(),
    sessions: z.array(z.object({ session_key: z.string(), state: Row })),
    events: z.array(Row).openapi({ description: 'Event log rows, from D1 and from the R2 archive, oldest first' }),
    recommendations_served: z.array(Row).openapi({ description: 'Experiment records of recommendations served to the shopper' }),
    attributed_purchases: z.array(Row),
    segments: z.array(z.object({ name: z.string(), score: z.number() })).openapi({ description: "Segments the shopper falls in now, from the profile and the sessions' state" }),
  })
  .openapi('ShopperExport');

export type ShopperExport = z.infer<typeof ShopperExportSchema>;

/** Erasure and access run as Workflows: the POST answers 202 with the job, the GET its state. */
const JobStatus = z
  .enum(['queued', 'running', 'paused', 'errored', 'terminated', 'complete', 'waiting', 'waitingForPause', 'rollingBack', 'unknown'])
  .openapi({ description: "The workflow instance's status; the result is there once it is `complete`" });

export const RightsJobSchema = z
  .object({
    id: z.string().openapi({ description: 'Job id (for erasure: the receipt id)' }),
    status: JobStatus,
    status_url: z.string().openapi({ description: 'GET this (admin token) for the status and, when complete, the result' }),
  })
  .openapi('RightsJob');

export const JobIdParams = z.object({ id: z.string().uuid().openapi({ description: 'The id the POST returned' }) });

export const ErasureStatusSchema = z
  .object({ id: z.string(), status: JobStatus, receipt: ErasureReceiptSchema.optional(), error: z.string().optional() })
  .openapi('ErasureStatus');

export const ExportStatusSchema = z
  .object({ id: z.string(), status: JobStatus, export: ShopperExportSchema.optional(), error: z.string().optional() })
  .openapi('ExportStatus');

export type JobStatus = z.infer<typeof JobStatus>;
