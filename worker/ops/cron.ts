/**
 * Cron triggers (wrangler.toml [triggers]):
 *   "*\/5 * * * *"  canary rule + drift check + event buffer retry (besides its own alarm) + a catalog
 *                  snapshot when more than CATALOG_DELTA_MAX changes wait past the current one
 *   "30 2 * * *"    start the daily maintenance workflow (worker/ops/maintenance.ts): export the
 *                  legacy event log to R2, then trim D1; compact profiles; expire tombstones
 * Any other schedule runs every job. Each job logs its result; a failing job does not stop the
 * others.
 */
import { snapshotIfDue } from '../catalog/builder';
import { bufferStub } from '../events/buffer-client';
import { getModel } from '../inference/model-store';
import { checkDrift } from './drift';
import { log } from './log';
import { startDailyMaintenance } from './maintenance';
import { opsStub } from './metrics';

export const FREQUENT = '*/5 * * * *';
export const DAILY = '30 2 * * *';

export async function runScheduled(controller: Pick<ScheduledController, 'cron' | 'scheduledTime'>, env: Env): Promise<Record<string, unknown>> {
  const now = controller.scheduledTime || Date.now();
  const frequent = controller.cron !== DAILY;
  const daily = controller.cron !== FREQUENT;
  const results: Record<string, unknown> = {};
  const job = async (name: string, fn: () => Promise<unknown>) => {
    const t0 = Date.now();
    try {
      results[name] = await fn();
      log('info', 'cron_job_done', { job: name, cron: controller.cron, ms: Date.now() - t0 });
    } catch (e) {
      results[name] = { error: (e as Error).message };
      log('error', 'cron_job_failed', { job: name, cron: controller.cron, error: (e as Error).message });
      return false;
    }
    return true;
  };
  if (frequent) {
    await job('canary', () => opsStub(env).evaluateCanary());
    await job('drift', async () => checkDrift(env, await getModel(env, 0), now));
    await job('event_buffer', () => bufferStub(env).drain());
    await job('catalog_snapshot', () => snapshotIfDue(env));
  }
  if (daily) {
    await job('maintenance', () => startDailyMaintenance(env, now));
  }
  return results;
}
