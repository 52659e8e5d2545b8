/**
 * Required secrets. Workers have no start-up hook that sees `env`, so the check runs on the first
 * request of each isolate (and in admin health): a missing secret answers 503 with a JSON error
 * naming it, instead of failing later in an unrelated place. Set them with
 * `wrangler secret put NAME --env <env>` (docs/operations.md).
 */
export const REQUIRED_SECRETS = ['ADMIN_TOKEN', 'PSEUDONYM_KEY'] as const;

/** Names of required secrets that are missing or empty (ADMIN_TOKEN must also be ≥ 16 characters). */
export function missingSecrets(env: Partial<Record<(typeof REQUIRED_SECRETS)[number], unknown>>): string[] {
  return REQUIRED_SECRETS.filter((name) => {
    const v = env[name];
    if (typeof v !== 'string' || !v.trim()) return true;
    return name === 'ADMIN_TOKEN' && v.trim().length < 16;
  });
}

export function missingSecretsMessage(missing: string[]): string {
  return `the worker is not configured: missing secret${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (set with \`wrangler secret put <NAME> --env <environment>\`; ADMIN_TOKEN needs at least 16 characters)`;
}
