/**
 * Shopper rights (admin, mounted under /v1/admin by admin.ts so the admin token is required):
 * erasure with a receipt, and access as one JSON export. The body names the shopper with the raw
 * ids the storefront knows; they are pseudonymised before anything is stored (the workflow's
 * params hold the keys) and never echoed. Both run as Workflows (worker/privacy/*-workflow.ts):
 * the POST answers 202 with a job id, GET …/{id} its status and result.
 */
import { createRoute } from '@hono/zod-openapi';
import { ApiError } from '../lib/errors';
import { log } from '../ops/log';
import { accessExportKey } from '../privacy/access';
import { pseudonymousKeys } from '../privacy/subject';
import { recordTombstones } from '../privacy/tombstones';
import { adminErrorResponses, ErrorSchema } from '../schemas/common';
import { ErasureStatusSchema, ExportStatusSchema, JobIdParams, RightsJobSchema, ShopperRequestSchema, type ErasureReceipt, type JobStatus, type ShopperExport } from '../schemas/shoppers';
import { router } from './types';

const security = [{ bearerAuth: [] }];
const body = { required: true, content: { 'application/json': { schema: ShopperRequestSchema } } };
const accepted = { 202: { description: 'Started; GET status_url for its progress and result', content: { 'application/json': { schema: RightsJobSchema } } } };
const notFound = { 404: { description: 'No such job', content: { 'application/json': { schema: ErrorSchema } } } };

/** A job's workflow status (404 for an id no POST returned). */
async function jobStatus(workflow: Workflow, id: string): Promise<{ status: JobStatus; output?: unknown; error?: string }> {
  let instance: WorkflowInstance;
  try {
    instance = await workflow.get(id);
  } catch {
    throw new ApiError(404, 'not_found', `no job ${id}`);
  }
  const s = await instance.status();
  return { status: s.status, output: s.output, error: s.error ? `${s.error.name}: ${s.error.message}` : undefined };
}

export const shoppersAdminApi = router()
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/admin/shoppers/erase',
      summary: "Start erasing everything held about a shopper (profile, sessions' state, events in D1, R2 and the queue, derived rows); GET status_url for the receipt",
      security,
      request: { body },
      responses: { ...accepted, ...adminErrorResponses },
    }),
    async (c) => {
      const keys = await pseudonymousKeys(c.env, c.req.valid('json'));
      const requestedAt = Date.now();
      // Before the answer: from now on, events of these keys still in the queue are dropped on arrival.
      await recordTombstones(c.env.DB, [...(keys.userKey ? [keys.userKey] : []), ...keys.sessionKeys], requestedAt);
      const instance = await c.env.ERASURE_WORKFLOW.create({ id: crypto.randomUUID(), params: { ...keys, requestedAt } });
      log('info', 'shopper_erasure_started', { id: instance.id, sessions: keys.sessionKeys.length, user: keys.userKey !== null });
      return c.json({ id: instance.id, status: 'queued' as const, status_url: `/v1/admin/shoppers/erase/${instance.id}` }, 202);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/admin/shoppers/erase/{id}',
      summary: 'Status of an erasure; the receipt once it is complete',
      security,
      request: { params: JobIdParams },
      responses: { 200: { description: 'Status (and receipt)', content: { 'application/json': { schema: ErasureStatusSchema } } }, ...notFound, ...adminErrorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const s = await jobStatus(c.env.ERASURE_WORKFLOW, id);
      const receipt = s.status === 'complete' ? (s.output as ErasureReceipt) : undefined;
      if (receipt) log('info', 'shopper_erased', { receipt_id: receipt.receipt_id, sessions: receipt.subject.session_keys.length, r2_rows: receipt.r2.rows_removed });
      return c.json({ id, status: s.status, receipt, error: s.error }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/admin/shoppers/export',
      summary: 'Start exporting everything held about a shopper as one JSON document (right of access); GET status_url for it',
      security,
      request: { body },
      responses: { ...accepted, ...adminErrorResponses },
    }),
    async (c) => {
      const keys = await pseudonymousKeys(c.env, c.req.valid('json'));
      const instance = await c.env.ACCESS_WORKFLOW.create({ id: crypto.randomUUID(), params: keys });
      return c.json({ id: instance.id, status: 'queued' as const, status_url: `/v1/admin/shoppers/export/${instance.id}` }, 202);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/admin/shoppers/export/{id}',
      summary: 'Status of an access export; the document once it is complete (kept 7 days)',
      security,
      request: { params: JobIdParams },
      responses: { 200: { description: 'Status (and document)', content: { 'application/json': { schema: ExportStatusSchema } } }, ...notFound, ...adminErrorResponses },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const s = await jobStatus(c.env.ACCESS_WORKFLOW, id);
      if (s.status !== 'complete') return c.json({ id, status: s.status, error: s.error }, 200);
      const doc = await c.env.EXPORTS.get(accessExportKey(id));
      if (!doc) throw new ApiError(404, 'not_found', `the export ${id} is no longer kept (or was erased)`);
      return c.json({ id, status: s.status, export: await doc.json<ShopperExport>() }, 200);
    },
  );

