/**
 * `/metrics` read straight from a real SQLite store: the three upload-backlog
 * gauges of one scrape share one catalog read, and every scrape reads anew, so
 * a scrape right after the queue changed shows the change (a time-based cache
 * had answered with the previous scrape's backlog beside newer counters).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openSqliteStore } from '../../src/db/sqlite/index.js';
import { Metrics } from '../../src/api/metrics.js';
import type { RecordingCatalog } from '../../src/db/types.js';
import { sampleRecording } from '../helpers/store-suite.js';

function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test('each scrape reads the upload backlog once and anew: a file queued between two scrapes shows in the second', async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bucketcast-metrics-'));
  const store = openSqliteStore({ dataDir });
  try {
    let reads = 0;
    const catalog: RecordingCatalog = Object.create(store.catalog);
    catalog.uploadBacklog = () => {
      reads++;
      return store.catalog.uploadBacklog();
    };
    const metrics = new Metrics({
      apps: () => ['live'],
      streams: () => [],
      recordings: () => [],
      catalog,
      failures: () => ({ retryable: 0, permanent: 0, byCode: {}, byClassAndCode: [] }),
      outbox: store.outbox,
      webhookCounts: () => ({ delivered: 0, retried: 0, failed: 0 }),
    });
    const first = await metrics.registry.metrics();
    assert.equal(value(first, 'bucketcast_upload_queue_depth'), 0);
    assert.equal(reads, 1, 'depth, bytes and age of one scrape share one read');

    const { rec, files } = sampleRecording('live');
    await store.catalog.addRecording(rec, files);
    await store.queue.enqueue(rec.recordingId, [files[0].name, files[1].name]);
    const second = await metrics.registry.metrics();
    assert.equal(reads, 2, 'the next scrape reads again');
    assert.equal(value(second, 'bucketcast_upload_queue_depth'), 2, 'the files queued since the last scrape');
    assert.equal(value(second, 'bucketcast_upload_bytes_pending'), files[0].size + files[1].size);
  } finally {
    store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
