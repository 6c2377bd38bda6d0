/** One observer type (EventBus): `on` returns its remover, and the server's `stop()` leaves no listener behind. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EventBus } from '../../src/events/event-bus.js';
import { Subscriptions } from '../../src/events/subscriptions.js';
import { configSchema } from '../../src/config/schema.js';
import { createLogger } from '../../src/log/logger.js';
import { startServer, type StartOptions } from '../../src/main.js';
import { AppRegistry } from '../../src/apps/app-registry.js';
import { appSettings } from '../../src/config/schema.js';

interface Events {
  a: number;
  b: string;
}

test('the remover `on` returns takes that listener off, and only that one', async () => {
  const bus = new EventBus<Events>();
  const seen: string[] = [];
  const offA1 = bus.on('a', (n) => void seen.push(`a1:${n}`));
  bus.on('a', (n) => void seen.push(`a2:${n}`));
  const offB = bus.on('b', (s) => void seen.push(`b:${s}`));
  assert.equal(bus.listenerCount(), 3);
  await bus.emit('a', 1);
  offA1();
  offA1(); // twice is harmless
  await bus.emit('a', 2);
  offB();
  await bus.emit('b', 'x');
  assert.deepEqual(seen, ['a1:1', 'a2:1', 'a2:2']);
  assert.equal(bus.listenerCount('a'), 1);
  assert.equal(bus.listenerCount('b'), 0);
  assert.equal(bus.listenerCount(), 1);
});

test('a failing listener does not stop the others, and a sync listener runs before emit returns', async () => {
  const bus = new EventBus<Events>();
  let ran = 0;
  bus.on('a', () => {
    throw new Error('boom');
  });
  bus.on('a', () => void ran++);
  const done = bus.emit('a', 1);
  assert.equal(ran, 1, 'ran synchronously');
  assert.equal(await done, false, 'emit reports the failure');
});

test('AppRegistry announces `changed` on the bus; a failing listener does not fail put()', () => {
  const apps = new AppRegistry([appSettings.parse({ name: 'live' })]);
  const seen: Array<[string, boolean]> = [];
  apps.events.on('changed', () => {
    throw new Error('boom');
  });
  const off = apps.events.on('changed', ({ app, previous }) => void seen.push([app.name, previous !== undefined]));
  apps.put(appSettings.parse({ name: 'live', maxPublishers: 3 }));
  apps.put(appSettings.parse({ name: 'other' }));
  off();
  apps.put(appSettings.parse({ name: 'third' }));
  assert.deepEqual(seen, [
    ['live', true],
    ['other', false],
  ]);
});

test('Subscriptions removes every listener it kept, last added first', () => {
  const order: number[] = [];
  const subs = new Subscriptions();
  for (const i of [1, 2, 3]) subs.add(() => void order.push(i));
  assert.equal(subs.size, 3);
  subs.clear();
  subs.clear();
  assert.deepEqual(order, [3, 2, 1]);
  assert.equal(subs.size, 0);
});

test("after the server's stop() no listener is left on its bus, its app registry or its stream registry", async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-bus-'));
  try {
    const config = configSchema.parse({
      server: { host: '127.0.0.1', httpPort: 0, rtmpPort: 0, dataDir, logLevel: 'silent' },
      applications: [{ name: 'live', s3RecordingEnabled: false }],
    });
    let observers: Parameters<NonNullable<StartOptions['wired']>>[0] | undefined;
    const running = await startServer(config, createLogger('silent'), { wired: (o) => (observers = o) });
    assert.ok(observers, 'wired was called');
    assert.ok(observers.events.listenerCount() > 0, 'modules listen on the bus while running');
    assert.ok(observers.apps.events.listenerCount() > 0, 'main and storage listen for app changes while running');
    assert.ok(observers.streams.events.listenerCount() > 0, 'main listens for publishers while running');
    await running.stop();
    assert.equal(observers.events.listenerCount(), 0, 'bus listeners left after stop()');
    assert.equal(observers.apps.events.listenerCount(), 0, 'app registry listeners left after stop()');
    assert.equal(observers.streams.events.listenerCount(), 0, 'stream registry listeners left after stop()');
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
