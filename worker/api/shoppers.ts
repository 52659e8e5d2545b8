/**
 * Shopper rights (admin, mounted under /v1/admin by admin.ts so the admin token is required):
 * erasure with a receipt, and access as one JSON export. The body names the shopper with the raw
 * ids the storefront knows; they are pseudonymised before any lookup and never stored or echoed.
 */
import { createRoute } from '@hono/zod-openapi';
import { log } from '../ops/log';
import { exportShopper } from '../privacy/access';
import { eraseShopper } from '../privacy/erase';
import { adminErrorResponses } from '../schemas/common';
import { ErasureReceiptSchema, ShopperExportSchema, ShopperRequestSchema } from '../schemas/shoppers';
import { router } from './types';

const security = [{ bearerAuth: [] }];
const body = { required: true, content: { 'application/json': { schema: ShopperRequestSchema } } };

export const shoppersAdminApi = router()
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/admin/shoppers/erase',
      summary: "Erase everything held about a shopper (profile, sessions' state, events, derived rows, R2 archive); returns a receipt",
      security,
      request: { body },
      responses: { 200: { description: 'Erased; the receipt says what was deleted where', content: { 'application/json': { schema: ErasureReceiptSchema } } }, ...adminErrorResponses },
    }),
    async (c) => {
      const receipt = await eraseShopper(c.env, c.req.valid('json'));
      log('info', 'shopper_erased', { receipt_id: receipt.receipt_id, sessions: receipt.subject.session_keys.length, events: receipt.d1.events, r2_rows: receipt.r2.rows_removed });
      return c.json(receipt, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/admin/shoppers/export',
      summary: 'Export everything held about a shopper as one JSON document (right of access)',
      security,
      request: { body },
      responses: { 200: { description: 'Everything held about the shopper', content: { 'application/json': { schema: ShopperExportSchema } } }, ...adminErrorResponses },
    }),
    async (c) => c.json(await exportShopper(c.env, c.req.valid('json')), 200),
  );
