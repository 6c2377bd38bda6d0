/**
 * The cluster publish claims (src/cluster/publish-claims.ts) and the
 * stream registry's use of them, against a claim store whose database can be
 * made to fail: a publish is refused when the claim cannot be checked, a
 * release that failed is retried until it lands, live claims are renewed,
 * and a second local publisher cannot slip in while a claim is pending.
 * Settings sync: a node's own change coming back from the database before its
 * save returned leaves the save as it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/log/logger.js';
import { PublishClaims } from '../../src/cluster/publish-claims.js';
import { StreamRegistry } from '../../src/ingest/stream-registry.js';
import type { PublisherSession, PublishRequest } from '../../src/ingest/types.js';
import type { StreamClaim, StreamClaimStore } from '../../src/db/types.js';
import type { AppSettingsStore, PersistedApp } from '../../src/db/admin-types.js';
import { AppRegistry } from '../../src/apps/app-registry.js';
import { AppAdmin } from '../../src/apps/app-admin.js';
import { AppSettingsSync } from '../../src/cluster/settings-sync.js';
import { appSettings } from '../../src/config/schema.js';

const log = createLogger('silent');

/** Claims in memory, one holder per stream id; `down` makes every call fail like an unreachable database. */
class FakeClaims implements StreamClaimStore {
  readonly rows = new Map<string, string>();
  readonly renewed: Array<Array<{ app: string; streamId: string }>> = [];
  down = false;
  gate?: Promise<void>;
  private check() {
    if (this.down) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
  }
  async claim(app: string, streamId: string, nodeId: string): Promise<{ ok: true } | { ok: false; heldBy: string }> {
    await this.gate;
    this.check();
    const held = this.rows.get(`${app}/${streamId}`);
    if (held && held !== nodeId) return { ok: false, heldBy: held };
    this.rows.set(`${app}/${streamId}`, nodeId);
    return { ok: true };
  }
  async renew(nodeId: string, streams: ReadonlyArray<{ app: string; streamId: string }>): Promise<number> {
    this.check();
    this.renewed.push([...streams]);
    return streams.filter((s) => this.rows.get(`${s.app}/${s.streamId}`) === nodeId).length;
  }
  async release(app: string, streamId: string, nodeId: string): Promise<boolean> {
    this.check();
    if (this.rows.get(`${app}/${streamId}`) !== nodeId) return false;
    return this.rows.delete(`${app}/${streamId}`);
  }
  async releaseNode(nodeId: string): Promise<number> {
    this.check();
    let n = 0;
    for (const [k, v] of this.rows) if (v === nodeId && this.rows.delete(k)) n++;
    return n;
  }
  async list(): Promise<StreamClaim[]> {
    return [];
  }
}

const req = (streamId: string): PublishRequest => ({ app: 'live', streamId, protocol: 'rtmp', remoteAddress: '127.0.0.1' });
const session = (streamId: string): PublisherSession => ({ id: `s-${streamId}-${Math.random()}`, app: 'live', streamId, protocol: 'rtmp', remoteAddress: '127.0.0.1', startedAt: new Date() }) as unknown as PublisherSession;
const waitFor = async (cond: () => boolean, label: string) => {
  const end = Date.now() + 3000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out: ${label}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

test('cluster claims: refused while another node holds the id or the database is down; failed releases are retried; live claims renewed', async () => {
  const store = new FakeClaims();
  store.rows.set('live/old', 'node-a'); // this node's previous run
  store.rows.set('live/busy', 'node-b');
  const claims = new PublishClaims({ claims: store, nodeId: 'node-a', leaseMs: 300, log });
  await claims.start();
  try {
    assert.equal(store.rows.has('live/old'), false, 'a restart drops the claims of the previous run');
    assert.deepEqual(await claims.claim(req('busy')), { ok: false, code: 'stream_busy', reason: 'stream "busy" is already being published on node node-b' });
    assert.deepEqual(await claims.claim(req('cam')), { ok: true });
    await waitFor(() => store.renewed.some((r) => r.some((s) => s.streamId === 'cam')), 'the live claim is renewed');
    store.down = true;
    const refused = await claims.claim(req('other'));
    assert.equal(refused.ok, false);
    assert.match(!refused.ok ? refused.reason : '', /database unreachable/);
    claims.release('live', 'cam');
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(store.rows.get('live/cam'), 'node-a', 'the release could not land yet');
    store.down = false;
    await waitFor(() => !store.rows.has('live/cam'), 'the release retried once the database is back');
    const before = store.renewed.length;
    assert.deepEqual(await claims.claim(req('cam2')), { ok: true });
    await waitFor(() => store.renewed.slice(before).some((r) => r.some((s) => s.streamId === 'cam2')), 'the new claim is renewed');
    assert.ok(store.renewed.slice(before).every((r) => !r.some((s) => s.streamId === 'cam')), 'a released claim is not renewed');
  } finally {
    await claims.stop();
  }
});

test('stream registry: a second local publisher is busy while the first one\'s cluster claim is pending; a refused claim registers nothing', async () => {
  const store = new FakeClaims();
  let open!: () => void;
  store.gate = new Promise<void>((r) => (open = r));
  const claims = new PublishClaims({ claims: store, nodeId: 'node-a', leaseMs: 60_000, log });
  const registry = new StreamRegistry({ authorizer: { authorize: () => ({ ok: true }) }, log, cluster: claims });
  const first = registry.claim(req('cam'), session('cam'));
  const second = await registry.claim(req('cam'), session('cam'));
  assert.equal(second.ok, false);
  assert.equal(!second.ok && second.code, 'stream_busy');
  open();
  assert.deepEqual(await first, { ok: true });
  assert.equal(registry.list().length, 1);
  store.rows.set('live/elsewhere', 'node-b');
  const elsewhere = await registry.claim(req('elsewhere'), session('elsewhere'));
  assert.equal(elsewhere.ok, false);
  assert.equal(registry.get('live', 'elsewhere'), undefined, 'nothing registered for a refused claim');
  registry.release(registry.get('live', 'cam')!, 'done');
  await waitFor(() => !store.rows.has('live/cam'), 'the end of the publish releases the claim');
  await claims.stop();
});

test('recording names: the store reserves the first free of base, -2, -3; a store that does not answer within the deadline gives a node-id name', async () => {
  const { reserveRecordingName } = await import('../../src/recording/naming.js');
  const startedAt = new Date('2026-11-22T18:50:03Z');
  const held = new Set(['live/cam_20261122T185003Z']);
  const reserve = async (app: string, name: string) => {
    if (held.has(`${app}/${name}`)) return false;
    held.add(`${app}/${name}`);
    return true;
  };
  const base = { app: 'live', streamId: 'cam', startedAt, dirs: [], taken: () => false, nodeId: 'node-b' };
  assert.equal(await reserveRecordingName({ ...base, reserve }), 'cam_20261122T185003Z-2', 'another node holds the plain name');
  assert.equal(await reserveRecordingName({ ...base, reserve }), 'cam_20261122T185003Z-3');
  assert.equal(await reserveRecordingName({ ...base, reserve, taken: (n) => n.endsWith('-4') }), 'cam_20261122T185003Z-5', 'a name in use here is skipped');
  const fallbacks: string[] = [];
  const t0 = Date.now();
  const name = await reserveRecordingName({ ...base, reserve: () => new Promise<boolean>(() => undefined), timeoutMs: 300, onFallback: (e) => fallbacks.push(e) });
  assert.equal(name, 'cam_20261122T185003Z-node-b');
  assert.ok(Date.now() - t0 < 1500, 'the recording is not held up longer than the deadline');
  assert.equal(fallbacks.length, 1);
  const failing = await reserveRecordingName({ ...base, reserve: async () => { throw new Error('connect ECONNREFUSED'); } });
  assert.equal(failing, 'cam_20261122T185003Z-node-b', 'a failing store falls back at once');
});

test('cluster: the recording name a file starts with, and the default URL peers reach a node at', async () => {
  const { RECORDING_NAME, defaultInternalUrl } = await import('../../src/cluster/nodes.js');
  const nameOf = (f: string) => RECORDING_NAME.exec(f)?.[1];
  assert.equal(nameOf('cam_20261122T185003Z.mp4'), 'cam_20261122T185003Z');
  assert.equal(nameOf('cam_20261122T185003Z_00012.ts'), 'cam_20261122T185003Z');
  assert.equal(nameOf('cam_20261122T185003Z-2_p0003.mp4'), 'cam_20261122T185003Z-2');
  assert.equal(nameOf('my_cam_20261122T185003Z-node-b.x_0001.jpg'), 'my_cam_20261122T185003Z-node-b.x');
  assert.equal(nameOf('cam_20261122T185003Z.m3u8'), 'cam_20261122T185003Z');
  assert.equal(nameOf('cam.m3u8'), undefined, 'a live playlist is found by its stream id instead');
  assert.equal(defaultInternalUrl('127.0.0.1', 5080), 'http://127.0.0.1:5080');
  assert.equal(defaultInternalUrl('::1', 5080), 'http://[::1]:5080');
  assert.match(defaultInternalUrl('0.0.0.0', 5080), /^http:\/\/[^/]+:5080$/);
});

/** Saved apps in memory that announce every change and return only once it was applied, as a loaded PostgreSQL can. */
class EchoingSettings implements AppSettingsStore {
  readonly rows = new Map<string, unknown>();
  private onChange?: (name: string | null) => void;
  sync?: AppSettingsSync;
  async list(): Promise<PersistedApp[]> {
    return [...this.rows].map(([name, settings]) => ({ name, settings, updatedAt: new Date().toISOString() }));
  }
  async put(name: string, settings: unknown): Promise<void> {
    this.rows.set(name, settings);
    await this.echo(name);
  }
  async markDeleted(name: string): Promise<void> {
    this.rows.set(name, null);
    await this.echo(name);
  }
  async watch(onChange: (name: string | null) => void): Promise<{ close(): Promise<void> }> {
    this.onChange = onChange;
    return { close: async () => undefined };
  }
  private async echo(name: string): Promise<void> {
    this.onChange?.(name);
    await this.sync?.settled();
  }
}

test('settings sync: an app created and deleted here is answered as such although its own notifications were applied first', async () => {
  const store = new EchoingSettings();
  const registry = new AppRegistry([appSettings.parse({ name: 'live' })], log);
  const saved = new Set<string>();
  const sync = new AppSettingsSync({ store, registry, saved, log });
  store.sync = sync;
  await sync.start();
  await sync.settled();
  const admin = new AppAdmin({ registry, store, saved, liveStreams: () => 0, log });
  assert.equal((await admin.create({ name: 'news' })).name, 'news');
  assert.ok(registry.get('news'));
  await admin.patch('news', { hlsTime: 6 });
  assert.equal(registry.get('news')?.hlsTime, 6);
  // The deletion's own notification removed the app before markDeleted returned: the delete still succeeds.
  await admin.delete('news');
  assert.equal(registry.get('news'), undefined);
  assert.equal(saved.has('news'), false);
  await sync.stop();
});
