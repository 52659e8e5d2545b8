/** npm run model:publish -- DIR [--remote] [--dry-run]: R2 upload + D1 registration/activation (local by default). */
import { publish } from '../publish';
import { fail, parseArgs, run } from './args';

run(async () => {
  const a = parseArgs(process.argv.slice(2), ['remote', 'dry-run']);
  const dir = a.positional[0] ?? a.str('dir') ?? fail('usage: npm run model:publish -- DIR [--remote] [--dry-run]');
  const where = a.flag('remote') ? 'remote' : 'local';
  const v = await publish(dir, where, a.flag('dry-run'));
  process.stdout.write(`${a.flag('dry-run') ? '(dry run) ' : ''}published ${v} (${where}) and activated it\n`);
});
