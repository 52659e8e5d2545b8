/** Admin API for experiments, bandits, segments, the global holdout and the dashboard (issue 5). */
import { createRoute, z } from '@hono/zod-openapi';
import { forgetBanditSnapshot } from '../bandits/client';
import { renderDashboard } from '../dashboard/page';
import { ExperimentInputSchema, SegmentRuleSchema, type Experiment } from '../experiments/config';
import { experimentReport } from '../experiments/report';
import { deleteSegmentRule, getSegmentRules, invalidateSegmentRules, putSegmentRule } from '../experiments/segments';
import { createExperiment, getExperiment, getHoldout, listExperiments, setHoldout, transition, updateExperiment } from '../experiments/store';
import { ApiError } from '../lib/errors';
import { adminErrorResponses, ErrorSchema, Id } from '../schemas/common';
import { requireAdmin } from './admin-auth';
import { router } from './types';

const security = [{ bearerAuth: [] }];
const Json = z.record(z.string(), z.unknown());
const ok = <T extends z.ZodType>(schema: T, description = 'OK') => ({
  200: { description, content: { 'application/json': { schema } } },
  ...adminErrorResponses,
});
const errors = {
  404: { description: 'Not found', content: { 'application/json': { schema: ErrorSchema } } },
  409: { description: 'Conflict with the current state', content: { 'application/json': { schema: ErrorSchema } } },
};
const ExperimentSchema = Json.openapi('Experiment', { description: 'An ExperimentInput plus status, salt and timestamps' });
const ReportSchema = Json.openapi('ExperimentReport', {
  description: 'Per-variant KPIs with 95% intervals, uplift vs control, z-test, mSPRT, SRM check, power, time series and bandit posteriors',
});
const IdParam = z.object({ id: Id });

function publicExperiment(e: Experiment) {
  const { salt: _salt, ...rest } = e;
  return rest as Record<string, unknown>;
}

export const experimentsApi = router();
experimentsApi.use('/v1/admin/*', requireAdmin);

experimentsApi
  .openapi(
    createRoute({ method: 'get', path: '/v1/admin/experiments', summary: 'All experiments and bandits, newest first', security, responses: ok(z.object({ experiments: z.array(ExperimentSchema) })) }),
    async (c) => c.json({ experiments: (await listExperiments(c.env.DB)).map(publicExperiment) }, 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/admin/experiments',
      summary: 'Create an experiment (A/B/n) or bandit as a draft',
      security,
      request: { body: { required: true, content: { 'application/json': { schema: ExperimentInputSchema } } } },
      responses: { ...ok(ExperimentSchema, 'Created'), ...errors },
    }),
    async (c) => c.json(publicExperiment(await createExperiment(c.env.DB, c.req.valid('json'))), 200),
  )
  .openapi(
    createRoute({ method: 'get', path: '/v1/admin/experiments/{id}', summary: 'One experiment', security, request: { params: IdParam }, responses: { ...ok(ExperimentSchema), ...errors } }),
    async (c) => c.json(publicExperiment(await getExperiment(c.env.DB, c.req.valid('param').id)), 200),
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/v1/admin/experiments/{id}',
      summary: 'Replace a draft experiment',
      security,
      request: { params: IdParam, body: { required: true, content: { 'application/json': { schema: ExperimentInputSchema } } } },
      responses: { ...ok(ExperimentSchema), ...errors },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      return c.json(publicExperiment(await updateExperiment(c.env.DB, id, { ...c.req.valid('json'), id })), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/v1/admin/experiments/{id}/{action}',
      summary: 'Start (draft or paused), pause (running) or stop (for good)',
      security,
      request: { params: IdParam.extend({ action: z.enum(['start', 'pause', 'stop']) }) },
      responses: { ...ok(ExperimentSchema), ...errors },
    }),
    async (c) => {
      const { id, action } = c.req.valid('param');
      const e = await transition(c.env.DB, id, action);
      if (e.kind === 'bandit') forgetBanditSnapshot(e.id);
      return c.json(publicExperiment(e), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/admin/experiments/{id}/report',
      summary: 'KPIs, intervals, uplift, significance tests, SRM check, time series and bandit state',
      security,
      request: { params: IdParam, query: z.object({ bucket_ms: z.coerce.number().int().min(1000).max(7 * 86_400_000).optional() }) },
      responses: { ...ok(ReportSchema), ...errors },
    }),
    async (c) => {
      const e = await getExperiment(c.env.DB, c.req.valid('param').id);
      return c.json((await experimentReport(c.env, e, { bucketMs: c.req.valid('query').bucket_ms })) as unknown as Record<string, unknown>, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/admin/segments',
      summary: 'Segment rules in effect (built-ins overlaid with edits)',
      security,
      responses: ok(z.object({ segments: z.record(z.string(), SegmentRuleSchema) })),
    }),
    async (c) => {
      invalidateSegmentRules();
      return c.json({ segments: await getSegmentRules(c.env.DB) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/v1/admin/segments/{name}',
      summary: 'Create or replace a segment rule',
      security,
      request: { params: z.object({ name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$/) }), body: { required: true, content: { 'application/json': { schema: SegmentRuleSchema } } } },
      responses: ok(z.object({ name: z.string(), updated: z.boolean() })),
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      await putSegmentRule(c.env.DB, name, c.req.valid('json'));
      return c.json({ name, updated: true }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/v1/admin/segments/{name}',
      summary: 'Remove a custom segment, or disable a built-in one',
      security,
      request: { params: z.object({ name: Id }) },
      responses: { ...ok(z.object({ name: z.string(), removed: z.boolean() })), ...errors },
    }),
    async (c) => {
      const { name } = c.req.valid('param');
      if (!(await deleteSegmentRule(c.env.DB, name))) throw new ApiError(404, 'not_found', `segment "${name}" does not exist`);
      return c.json({ name, removed: true }, 200);
    },
  )
  .openapi(
    createRoute({ method: 'get', path: '/v1/admin/holdout', summary: 'Global holdout share (kept out of all experiments, unpersonalized)', security, responses: ok(z.object({ share: z.number() })) }),
    async (c) => c.json({ share: await getHoldout(c.env.DB) }, 200),
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/v1/admin/holdout',
      summary: 'Set the global holdout share',
      security,
      request: { body: { required: true, content: { 'application/json': { schema: z.object({ share: z.number().min(0).max(0.5) }) } } } },
      responses: ok(z.object({ share: z.number() })),
    }),
    async (c) => {
      const { share } = c.req.valid('json');
      await setHoldout(c.env.DB, share);
      return c.json({ share }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/v1/admin/dashboard',
      summary: 'Experiment dashboard (HTML, server-rendered SVG charts)',
      security,
      responses: { 200: { description: 'HTML page', content: { 'text/html': { schema: z.string() } } }, ...adminErrorResponses },
    }),
    async (c) => c.html(await renderDashboard(c.env), 200, { 'Cache-Control': 'no-store', 'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:" }),
  );
