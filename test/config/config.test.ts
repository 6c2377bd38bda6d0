/** One schema, defaults, a config file, environment overrides, unknown keys named. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadConfig, DEFAULT_CONFIG_FILE } from '../../src/config/load.js';
import { ROOT } from '../helpers/server.js';

function configFile(content: unknown): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'bc-cfg-')), 'c.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

test('defaults apply when the file sets nothing', () => {
  const { config, file } = loadConfig({ BUCKETCAST_CONFIG: configFile({}) });
  assert.ok(file);
  assert.equal(config.server.httpPort, 5080);
  assert.equal(config.server.rtmpPort, 1935);
  assert.equal(config.server.logLevel, 'info');
  assert.equal(config.applications.length, 1);
  const live = config.applications[0];
  assert.equal(live.name, 'live');
  assert.equal(live.mp4MuxingEnabled, true);
  assert.equal(live.hlsMuxingEnabled, true);
  assert.deepEqual({ ...live.previews }, { enabled: true, periodSeconds: 5, height: 480, format: 'jpg' });
});

test('the default config file is used without BUCKETCAST_CONFIG', () => {
  const { file, config } = loadConfig({});
  assert.equal(file, DEFAULT_CONFIG_FILE);
  assert.equal(config.applications[0].name, 'live');
});

test('environment overrides the file', () => {
  const file = configFile({ server: { httpPort: 1111, rtmpPort: 2222, dataDir: '/x', logLevel: 'warn' } });
  const { config } = loadConfig({
    BUCKETCAST_CONFIG: file,
    BUCKETCAST_HTTP_PORT: '8080',
    BUCKETCAST_RTMP_PORT: '19350',
    BUCKETCAST_DATA_DIR: '/var/lib/bucketcast',
    BUCKETCAST_LOG_LEVEL: 'debug',
  });
  assert.equal(config.server.httpPort, 8080);
  assert.equal(config.server.rtmpPort, 19350);
  assert.equal(config.server.dataDir, '/var/lib/bucketcast');
  assert.equal(config.server.logLevel, 'debug');
});

test('unknown keys are rejected, naming the key', () => {
  assert.throws(() => loadConfig({ BUCKETCAST_CONFIG: configFile({ server: { htpPort: 1 } }) }), /server\.htpPort: unknown key/);
  assert.throws(() => loadConfig({ BUCKETCAST_CONFIG: configFile({ applications: [{ name: 'a', mp4Muxing: true }] }) }), /applications\[0\]\.mp4Muxing: unknown key/);
  assert.throws(() => loadConfig({ BUCKETCAST_CONFIG: configFile({ extra: 1 }) }), /extra: unknown key/);
});

test('invalid values name their key', () => {
  assert.throws(
    () => loadConfig({ BUCKETCAST_CONFIG: configFile({ applications: [{ name: 'live', previews: { format: 'gif' } }] }) }),
    /applications\[0\]\.previews\.format/,
  );
  assert.throws(() => loadConfig({ BUCKETCAST_CONFIG: configFile({ applications: [{ name: 'a' }, { name: 'a' }] }) }), /duplicate application "a"/);
  assert.throws(() => loadConfig({ BUCKETCAST_CONFIG: configFile({ applications: [{ name: 'api' }] }) }), /applications\[0\]\.name: is reserved/);
  assert.throws(() => loadConfig({ BUCKETCAST_CONFIG: configFile({}), BUCKETCAST_HTTP_PORT: 'eighty' }), /BUCKETCAST_HTTP_PORT: expected a whole number/);
  assert.throws(() => loadConfig({ BUCKETCAST_CONFIG: configFile({}), BUCKETCAST_RTMP_PORT: '70000' }), /server\.rtmpPort/);
  assert.throws(() => loadConfig({ BUCKETCAST_CONFIG: configFile({}), BUCKETCAST_LOG_LEVEL: 'loud' }), /server\.logLevel/);
  assert.throws(() => loadConfig({ BUCKETCAST_CONFIG: configFile('{ not json') }), /not valid JSON/);
  assert.throws(() => loadConfig({ BUCKETCAST_CONFIG: '/nonexistent/bucketcast.json' }), /BUCKETCAST_CONFIG: file not found/);
});

test('the loaded configuration is frozen', () => {
  const { config } = loadConfig({ BUCKETCAST_CONFIG: configFile({}) });
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.server));
  assert.ok(Object.isFrozen(config.applications[0].previews));
});

test('unknown BUCKETCAST_ variables are reported', () => {
  const { unknownEnv } = loadConfig({ BUCKETCAST_CONFIG: configFile({}), BUCKETCAST_HTTP_PROT: '1' });
  assert.deepEqual(unknownEnv, ['BUCKETCAST_HTTP_PROT']);
});

test('the server refuses to start on a bad config and names the key', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, BUCKETCAST_CONFIG: configFile({ server: { rtmpPrt: 1 } }) },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /server\.rtmpPrt: unknown key/);
});
