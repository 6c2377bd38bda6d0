/**
 * `npm run storage:validate -- --app <name> [--json]`: storage validation
 * (steps, then the permission report with what each missing permission
 * costs) from the command line, with the server's configuration (config file and
 * environment). Exit code 0 when the bucket works for uploads, 1 when it
 * does not, 2 for a usage or configuration error.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig, readSecretEnv } from '../../config/load.js';
import { errorMessage } from '../../errors.js';
import { openConfiguredStore } from '../../db/open-store.js';
import type { Store } from '../../db/types.js';
import { TargetResolver } from '../targets/targets.js';
import { validateStorage, type ValidationReport } from './validate.js';

const USAGE = 'usage: npm run storage:validate -- --app <name> [--json]\n';

/** The report as a person reads it. */
export function formatReport(r: ValidationReport): string {
  const t = r.target;
  const where = t.embedded ? 'the local store (plain files under the data dir\'s bucket/ folder)' : `bucket "${t.bucket}" in ${t.region}${t.endpoint ? ` at ${t.endpoint}` : ''}`;
  const mark = { ok: '  ok     ', failed: '  FAILED ', denied: '  denied ', skipped: '  -      ' } as const;
  const lines = [`Storage check for app "${r.app}": ${where}${t.prefix ? `, prefix "${t.prefix}"` : ''}`];
  for (const s of r.steps) lines.push(`${mark[s.status]}${s.step.padEnd(16)} ${s.message}`);
  lines.push('Permissions:');
  const word = { allowed: '  allowed ', denied: '  DENIED  ', unknown: '  ?       ' } as const;
  for (const p of r.permissions) lines.push(`${word[p.status]}${p.permission.padEnd(16)} ${p.action}${p.cost ? ` — ${p.cost}` : ''}`);
  lines.push(`Result: ${r.ok ? 'OK' : 'FAILED'}: ${r.summary}`);
  return `${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  let app: string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--app') app = argv[++i];
    else if (a.startsWith('--app=')) app = a.slice('--app='.length);
    else if (a === '--json') json = true;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(USAGE);
      return 0;
    } else {
      process.stderr.write(`unknown argument "${a}"\n${USAGE}`);
      return 2;
    }
  }

  let config;
  try {
    config = loadConfig().config;
  } catch (err) {
    process.stderr.write(`bucketcast: ${errorMessage(err)}\n`);
    return 2;
  }
  app ??= config.applications[0].name;
  const settings = config.applications.find((a) => a.name === app);
  if (!settings) {
    process.stderr.write(`no application "${app}" (configured: ${config.applications.map((a) => a.name).join(', ')})\n`);
    return 2;
  }
  const dataDir = path.resolve(config.server.dataDir);
  let store: Store | undefined;
  try {
    // The store holds stored credentials; open it only when they are used.
    if (settings.s3.credentials.source === 'stored') {
      store = (await openConfiguredStore({ dataDir, databaseUrl: config.server.databaseUrl, secretKey: readSecretEnv('BUCKETCAST_SECRET_KEY') })).store;
    }
    const resolver = new TargetResolver({ credentials: store?.credentials, localRoot: path.join(dataDir, 'bucket') });
    const report = await validateStorage(settings, resolver);
    resolver.close();
    process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
    return report.ok ? 0 : 1;
  } catch (err) {
    process.stderr.write(`bucketcast: storage check failed to run: ${errorMessage(err)}\n`);
    return 2;
  } finally {
    await store?.close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // The AWS SDK's notice about Node versions is not part of a report.
  process.removeAllListeners('warning');
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
