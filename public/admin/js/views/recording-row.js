// @ts-check
/**
 * One recording in the Recordings table: its upload state with live
 * progress (bytes of the files meant for the bucket, from `upload.progress`
 * events), failures in plain words (each file's last error), and its
 * actions: play, download, details (every file), retry, delete (with the
 * choice to keep the bucket objects when the bucket refuses to delete them).
 *
 * A recording made of parts (`recordSegmentSeconds`) lists them in its
 * details with their wall-clock spans and upload state; one still recorded
 * shows its parts appearing.
 *
 * A private app's poster, download and file links carry a viewing token
 * (see ../viewing.js); Play opens the player, which mints its own.
 *
 * State for tests: `tr[data-recording-id][data-upload-state][data-progress][data-parts]`.
 */
import { api, ApiError, seg } from '../api.js';

/** @typedef {import('../../../types.js').Recording} Recording */
/** @typedef {import('../../../types.js').RecordingDetail} RecordingDetail */
/** @typedef {import('../../../types.js').UploadProgress} UploadProgress */
/** @typedef {{ rows: HTMLElement[], refresh(): Promise<void>, progress(ev: UploadProgress): void }} RecordingRow */
import { act, fill, fmtBytes, fmtDuration, h, showError, timeEl, toast } from '../dom.js';
import { confirmDialog } from '../dialogs.js';
import { keepSigned, viewUrl } from '../viewing.js';

/** @type {Record<string, string>} */
const STATE_WORDS = { local: 'on this server', queued: 'waiting to upload', uploading: 'uploading', uploaded: 'uploaded', failed: 'upload failed' };

/** A table row (plus a details row) for a recording summary; `onDeleted` is called after a delete. */
/**
 * @param {Recording} summary
 * @param {{ problems: HTMLElement, onDeleted: (recordingId: string) => void }} options
 * @returns {RecordingRow}
 */
export function recordingRow(summary, { problems, onDeleted }) {
  /** @type {Recording} */
  let rec = summary;
  /** @type {RecordingDetail | null} */
  let detail = null;
  let expanded = false;
  /** @type {Map<string, number>} */
  const loaded = new Map();
  const state = h('div', { class: 'upload-cell' });
  const tr = h('tr', { 'data-recording-id': rec.recordingId });
  const detailRow = h('tr', { class: 'detail', hidden: true }, h('td', { colspan: 6 }));
  const toggle = h('button', { type: 'button', class: 'secondary small', 'aria-expanded': 'false', 'data-action': 'details' }, 'Files');
  const retry = h('button', { type: 'button', class: 'small', 'data-action': 'retry' }, 'Retry upload');
  const del = h('button', { type: 'button', class: 'danger small', 'data-action': 'delete' }, 'Delete');
  const play = h('a', { class: 'button small', target: '_blank', rel: 'noopener', 'data-action': 'play' }, '▶ Play');
  const download = h('a', { class: 'button secondary small', download: '', 'data-action': 'download' }, 'Download');

  toggle.addEventListener('click', async () => {
    expanded = !expanded;
    toggle.setAttribute('aria-expanded', String(expanded));
    detailRow.hidden = !expanded;
    if (expanded) await refresh();
  });
  retry.addEventListener('click', () =>
    act(retry, problems, async () => {
      const r = /** @type {{ recordingId: string, requeued: number }} */ (await api.post(`/recordings/${seg(rec.recordingId)}/retry`));
      toast(r.requeued ? `${r.requeued} file(s) queued for upload again` : 'Nothing to retry');
      await refresh();
    }),
  );
  del.addEventListener('click', () => remove());
  const cells = { name: h('td', {}), started: h('td', { class: 'hide-sm' }), duration: h('td', { class: 'num' }), size: h('td', { class: 'num hide-sm' }) };
  tr.append(cells.name, cells.started, cells.duration, cells.size, h('td', {}, state), h('td', {}, h('div', { class: 'row' }, play, download, toggle, retry, del)));

  async function remove() {
    const ok = await confirmDialog({ title: `Delete ${rec.name}?`, text: 'Its files are deleted from the bucket and from this server, and it leaves this list.', confirmLabel: 'Delete recording', danger: true });
    if (!ok) return;
    await act(del, problems, async () => {
      try {
        await api.del(`/recordings/${seg(rec.recordingId)}`);
      } catch (err) {
        if (!(err instanceof ApiError) || err.code !== 'bucket_delete_denied') throw err;
        const keep = await confirmDialog({
          title: 'The bucket refused to delete the objects',
          text: `${err.message}. Nothing was deleted. You can delete the recording from this server and the list and leave its objects in the bucket.`,
          confirmLabel: 'Delete here, keep the bucket objects',
          danger: true,
        });
        if (!keep) return;
        await api.del(`/recordings/${seg(rec.recordingId)}`, { keepObjects: true });
      }
      toast(`${rec.name} deleted`);
      onDeleted(rec.recordingId);
    });
  }

  /** Re-reads the recording with its files; a failure is shown in the table's error box. */
  async function refresh() {
    try {
      const d = /** @type {RecordingDetail} */ (await api.get(`/recordings/${seg(rec.recordingId)}`));
      detail = d;
      for (const f of d.files) if (f.state !== 'uploading') loaded.delete(f.name);
      rec = { ...rec, ...d };
      draw();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) onDeleted(rec.recordingId);
      else if (!(err instanceof ApiError && err.sessionEnded)) showError(problems, err, `${rec.name} could not be read again: `);
    }
  }

  /** Bytes uploaded and to upload, from the files (when known) and the latest progress events. */
  function progress() {
    if (!detail) return null;
    let done = 0;
    let total = 0;
    for (const f of detail.files) {
      if (f.state === 'local') continue;
      total += f.size;
      if (f.state === 'uploaded') done += f.size;
      else if (f.state === 'uploading') done += loaded.get(f.name) ?? (f.progress ? f.progress.loaded : 0);
    }
    return total ? { done, total } : null;
  }

  function uploadCell() {
    const s = rec.uploadState;
    /** @type {Partial<Recording['fileCounts']>} */
    const counts = rec.fileCounts || {};
    const meant = (counts.queued || 0) + (counts.uploading || 0) + (counts.uploaded || 0) + (counts.failed || 0);
    const p = progress();
    /** @type {import('../../../types.js').Child[]} */
    const parts = [h('span', { class: 'badge', 'data-state': s }, STATE_WORDS[s] || s)];
    if (s === 'uploading' || s === 'queued') {
      parts.push(' ', h('span', { class: 'help' }, `${counts.uploaded || 0}/${meant} files`));
      if (p) parts.push(' ', h('progress', { max: p.total, value: p.done, 'aria-label': `Upload progress of ${rec.name}` }), ` ${Math.floor((100 * p.done) / p.total)}%`);
    }
    if (s === 'uploaded' && detail) {
      const main = detail.files.find((f) => f.kind === 'mp4' || f.kind === 'webm');
      if (main && main.bucket) parts.push(h('div', { class: 'help' }, h('code', {}, `s3://${main.bucket}/${main.key}`)));
    }
    const failing = detail ? detail.files.filter((f) => f.lastError && (f.state === 'failed' || f.state === 'queued')) : [];
    if (failing.length) {
      const first = failing[0];
      const when = first.state === 'queued' && first.nextAttemptAt ? ` Next attempt ${new Date(first.nextAttemptAt).toLocaleTimeString()}.` : '';
      const what = s === 'failed' ? 'Upload failed' : 'Upload attempt failed';
      parts.push(h('div', { class: s === 'failed' ? 'error-box' : 'warn-box', 'data-upload-error': first.errorCode || 'error' }, `${what}: ${first.lastError}`, failing.length > 1 ? ` (${failing.length} files)` : '', when));
    }
    return parts;
  }

  /** The MP4 parts (recordSegmentSeconds) with their wall-clock spans and upload state; nothing for one part. */
  function partsTable() {
    const list = (detail || rec).parts || [];
    if (list.length < 2 && !rec.inProgress) return null;
    return h('div', { class: 'table-wrap' }, h('table', { class: 'parts', 'aria-label': `Parts of ${rec.name}` },
      h('thead', {}, h('tr', {}, h('th', { class: 'num' }, 'Part'), h('th', {}, 'From'), h('th', {}, 'To'), h('th', { class: 'num' }, 'Duration'), h('th', { class: 'num' }, 'Size'), h('th', {}, 'State'))),
      h('tbody', {}, list.map((pt) => h('tr', { 'data-part': pt.part, 'data-state': pt.state },
        h('td', { class: 'num' }, signedLink(h('a', { target: '_blank', rel: 'noopener' }, `#${pt.part}`), pt.url)),
        h('td', {}, timeEl(pt.startedAt)),
        h('td', {}, timeEl(pt.endedAt)),
        h('td', { class: 'num' }, fmtDuration(pt.durationSeconds)),
        h('td', { class: 'num' }, fmtBytes(pt.size)),
        h('td', {}, h('span', { class: 'badge', 'data-state': pt.state }, STATE_WORDS[pt.state] || pt.state), pt.local ? h('span', { class: 'help' }, ' + local copy') : null),
      ))),
    ));
  }

  /**
   * @param {HTMLAnchorElement} a
   * @param {string} url
   */
  function signedLink(a, url) {
    keepSigned(a, rec.app, url);
    return a;
  }

  function filesTable() {
    if (!detail) return h('p', { class: 'loading' }, 'Loading files…');
    return h('div', { class: 'table-wrap' }, partsTable(), h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'File'), h('th', {}, 'Kind'), h('th', { class: 'num' }, 'Size'), h('th', {}, 'State'), h('th', {}, 'Object'), h('th', { class: 'num' }, 'Failed attempts'), h('th', {}, 'Last error'))),
      h('tbody', {}, detail.files.map((f) => h('tr', { 'data-file': f.name, 'data-state': f.state },
        h('td', {}, signedLink(h('a', { target: '_blank', rel: 'noopener' }, f.name), f.url)),
        h('td', {}, f.kind),
        h('td', { class: 'num' }, fmtBytes(f.size)),
        h('td', {}, h('span', { class: 'badge', 'data-state': f.state }, f.state), f.local ? h('span', { class: 'help' }, ' + local copy') : null),
        h('td', {}, f.key ? h('code', {}, `s3://${f.bucket}/${f.key}`) : '—'),
        h('td', { class: 'num' }, f.attempts),
        h('td', {}, f.lastError ? h('span', { class: 'field-error' }, f.lastError, f.errorCode ? ` (${f.errorCode})` : '') : '—'),
      ))),
    ));
  }

  function draw() {
    const p = progress();
    tr.dataset.uploadState = rec.uploadState;
    tr.dataset.progress = p ? String(Math.floor((100 * p.done) / p.total)) : '';
    play.href = rec.urls.player;
    if (rec.urls.mp4) keepSigned(download, rec.app, rec.urls.mp4);
    download.hidden = !rec.urls.mp4;
    retry.hidden = rec.uploadState !== 'failed';
    fill(state, uploadCell());
    const v = rec.video;
    // Cells are refilled in place; the buttons stay attached so keyboard focus survives live updates.
    const nParts = (rec.parts || []).length;
    // The recording's poster stands for the stream once it ended (the stream's latest preview is removed then).
    const poster = rec.urls.poster ? h('img', { class: 'poster-thumb', alt: '', loading: 'lazy', width: 64, 'data-poster': rec.urls.poster }) : null;
    if (poster && rec.urls.poster) viewUrl(rec.app, rec.urls.poster).then((src) => (poster.src = src));
    fill(cells.name, poster, h('strong', {}, rec.name), rec.inProgress ? h('span', { class: 'badge', 'data-state': 'uploading', 'data-in-progress': '' }, ' recording') : null,
      h('div', { class: 'help' }, `${rec.app} / ${rec.streamId}`, v ? ` · ${v.codec} ${v.width}×${v.height}` : '', nParts > 1 || rec.inProgress ? ` · ${nParts} part${nParts === 1 ? '' : 's'}` : '', rec.recovered ? ' · recovered after a crash' : '', rec.node ? ` · node ${rec.node}` : ''));
    tr.dataset.parts = String(nParts);
    fill(cells.started, timeEl(rec.startedAt));
    fill(cells.duration, fmtDuration(rec.durationSeconds));
    fill(cells.size, fmtBytes(rec.sizeBytes));
    if (expanded && detailRow.firstElementChild) fill(detailRow.firstElementChild, filesTable());
  }

  draw();
  // Rows that are moving or failed show their files' progress and errors at once.
  if (['uploading', 'queued', 'failed'].includes(rec.uploadState)) refresh();

  return {
    rows: [tr, detailRow],
    refresh,
    /**
     * An `upload.progress` event of one of its files.
     * @param {UploadProgress} ev
     */
    progress(ev) {
      loaded.set(ev.name, ev.loaded);
      if (detail) {
        const f = detail.files.find((x) => x.name === ev.name);
        if (f && f.state !== 'uploading') {
          f.state = 'uploading';
          rec = { ...rec, uploadState: 'uploading' };
        }
      }
      draw();
    },
  };
}
