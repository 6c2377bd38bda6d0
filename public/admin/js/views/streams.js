// @ts-check
/**
 * Live streams: a card per publisher with its preview thumbnail (reloaded
 * every few seconds with a cache-busting query, a placeholder until the
 * first preview exists), protocol, codecs, resolution, bitrate and duration,
 * a recording on/off switch, kick, and a play button (the player page).
 * A private app's thumbnails carry a viewing token (see ../viewing.js).
 * The list follows the events channel (streams starting and ending,
 * recordings starting and completing) and is re-read every few seconds for
 * the bitrate. Below, the sources and imports with their state (sources-section.js).
 *
 * Several nodes on one database: each card names its node, streams live on
 * other nodes are listed under it (kick works there too), and a table shows
 * every node's health (shown only when there is more than one node).
 *
 * State for tests: `article[data-stream="<app>/<streamId>"][data-recording]`,
 * its `img[data-thumb="loading|loaded|none"][data-loads]`,
 * `#elsewhere li[data-stream][data-node]`, `#nodes tr[data-node][data-alive]`.
 */
import { api, ApiError, seg } from '../api.js';

/** @typedef {import('../../../types.js').LiveStream} LiveStream */
/** @typedef {import('../../../types.js').StreamsAnswer} StreamsAnswer */
/** @typedef {import('../../../types.js').NodeInfo} NodeInfo */
/** @typedef {{ el: HTMLElement, update(next: LiveStream): void, dispose(): void }} Card */
import { act, errorBox, fill, fmtBitrate, fmtDuration, h, showError } from '../dom.js';
import { confirmDialog } from '../dialogs.js';
import { on } from '../events.js';
import { viewUrl } from '../viewing.js';
import { sourcesSection } from './sources-section.js';

const REFRESH_MS = 5000;
const THUMB_MS = 3000;
const FALLBACK = 'img/no-preview.svg';

/** @param {HTMLElement} main */
export function render(main) {
  const grid = h('div', { class: 'grid', id: 'streams', 'aria-live': 'polite' }, h('p', { class: 'loading', 'aria-busy': 'true' }, 'Loading…'));
  const problems = errorBox();
  const elsewhereList = h('ul', {});
  const elsewhere = h('section', { id: 'elsewhere', hidden: true }, h('h2', {}, 'Live on other nodes'), elsewhereList);
  const nodesBody = h('tbody', {});
  const nodes = h(
    'section',
    { id: 'nodes-section', hidden: true },
    h('h2', {}, 'Nodes'),
    h('table', { id: 'nodes' }, h('thead', {}, h('tr', {}, h('th', {}, 'Node'), h('th', {}, 'Health'), h('th', { class: 'num' }, 'Live streams'), h('th', { class: 'hide-sm' }, 'Last seen'), h('th', { class: 'hide-sm' }, 'Address'))), nodesBody),
  );
  const sources = sourcesSection();
  fill(main, h('h1', {}, 'Live streams'), problems, grid, elsewhere, nodes, sources.el);
  /** @type {Map<string, Card>} */
  const cards = new Map();
  /** @type {Promise<void> | null} */
  let loading = null;

  /** @returns {Promise<void>} */
  const load = async () => {
    if (loading) return loading;
    loading = (async () => {
      try {
        const [{ streams, elsewhere: remote }, { nodes: all }] = /** @type {[StreamsAnswer, { nodes: NodeInfo[] }]} */ (await Promise.all([api.get('/streams'), api.get('/nodes')]));
        problems.hidden = true;
        renderElsewhere(elsewhereList, elsewhere, remote || [], problems, load);
        renderNodes(nodesBody, nodes, all);
        const keys = new Set(streams.map((s) => `${s.app}/${s.streamId}`));
        for (const [k, c] of cards) if (!keys.has(k)) (c.dispose(), cards.delete(k));
        for (const s of streams) {
          const k = `${s.app}/${s.streamId}`;
          let card = cards.get(k);
          if (!card) cards.set(k, (card = streamCard(s, problems, load)));
          card.update(s);
        }
        const els = [...cards.values()].map((c) => c.el);
        // Re-attached only when the set changed, so focus inside a card survives the periodic refresh.
        const same = els.length === grid.children.length && els.every((e, i) => grid.children[i] === e);
        if (!same) fill(grid, els.length ? els : h('p', { class: 'empty', id: 'no-streams' }, 'No live streams. Publish with OBS or ffmpeg to rtmp://<host>:<port>/<app>/<streamId>, or over WHIP.'));
      } catch (err) {
        if (!(err instanceof ApiError && err.sessionEnded)) showError(problems, err, 'Live streams could not be loaded: ');
      } finally {
        loading = null;
      }
    })();
    return loading;
  };
  load();
  const timer = setInterval(load, REFRESH_MS);
  const offs = ['stream.started', 'stream.ended', 'recording.started', 'recording.completed', 'reconnected'].map((t) => on(t, () => load()));
  return () => {
    clearInterval(timer);
    offs.forEach((off) => off());
    sources.dispose();
    for (const c of cards.values()) c.dispose();
  };
}

/**
 * @param {HTMLElement} list
 * @param {HTMLElement} section
 * @param {NonNullable<StreamsAnswer['elsewhere']>} remote
 * @param {HTMLElement} problems
 * @param {() => Promise<void>} reload
 */
function renderElsewhere(list, section, remote, problems, reload) {
  section.hidden = remote.length === 0;
  fill(
    list,
    remote.map((r) => {
      const kick = h('button', { type: 'button', class: 'danger small', 'data-action': 'kick' }, 'Kick');
      kick.addEventListener('click', async () => {
        const ok = await confirmDialog({ title: `Kick ${r.app}/${r.streamId}?`, text: `The publisher is disconnected on node ${r.node} and its recording finalized there.`, confirmLabel: 'Kick', danger: true });
        if (ok) await act(kick, problems, async () => (await api.post(`/streams/${seg(r.app)}/${seg(r.streamId)}/kick`), reload()));
      });
      return h('li', { 'data-stream': `${r.app}/${r.streamId}`, 'data-node': r.node }, h('code', {}, `${r.app}/${r.streamId}`), ` on node ${r.node} since ${new Date(r.since).toLocaleTimeString()} `, kick);
    }),
  );
}

/**
 * @param {HTMLElement} body
 * @param {HTMLElement} section
 * @param {NodeInfo[]} all
 */
function renderNodes(body, section, all) {
  section.hidden = all.length < 2;
  fill(
    body,
    all.map((n) =>
      h(
        'tr',
        { 'data-node': n.nodeId, 'data-alive': String(n.alive) },
        h('td', {}, h('code', {}, n.nodeId), n.self ? ' (this node)' : ''),
        h('td', {}, h('span', { class: `badge ${n.alive ? 'ok' : 'bad'}` }, n.alive ? 'alive' : n.stopped ? 'stopped' : 'not seen')),
        h('td', { class: 'num' }, String(n.liveStreams)),
        h('td', { class: 'hide-sm' }, new Date(n.lastSeenAt).toLocaleTimeString()),
        h('td', { class: 'hide-sm' }, n.internalUrl || '—'),
      ),
    ),
  );
}

/**
 * @param {LiveStream} s
 * @param {HTMLElement} problems
 * @param {() => Promise<void>} reload
 * @returns {Card}
 */
function streamCard(s, problems, reload) {
  const img = h('img', { alt: `Preview of ${s.streamId}`, src: FALLBACK, 'data-thumb': 'loading', 'data-loads': '0', width: 320, height: 180 });
  const info = h('dl', {});
  const recBadge = h('span', { class: 'badge' });
  const toggle = h('button', { type: 'button', class: 'secondary small', 'data-action': 'toggle-recording' });
  const kick = h('button', { type: 'button', class: 'danger small', 'data-action': 'kick' }, 'Kick');
  const play = h('a', { class: 'button small', target: '_blank', rel: 'noopener', 'data-action': 'play', href: s.urls.player }, '▶ Play');
  const title = h('h2', {}, h('code', {}, `${s.app}/${s.streamId}`));
  const el = h(
    'article',
    { class: 'card stream', 'data-stream': `${s.app}/${s.streamId}` },
    h('div', { class: 'thumb' }, img, h('span', { class: 'badge live' }, 'LIVE')),
    h('div', { class: 'body' }, title, info, h('div', { class: 'row' }, recBadge), h('div', { class: 'row' }, play, toggle, kick)),
  );
  let current = s;
  let loads = 0;
  // Loads the next preview off-screen and swaps it in only when it decoded, so a missing one never flashes.
  let disposed = false;
  const refreshThumb = async () => {
    const src = await viewUrl(current.app, `${current.urls.preview}?t=${Date.now()}`);
    if (disposed) return;
    const probe = new Image();
    probe.onload = () => {
      loads += 1;
      img.src = probe.src;
      img.dataset.thumb = 'loaded';
      img.dataset.loads = String(loads);
    };
    probe.onerror = () => {
      if (loads === 0) {
        img.src = FALLBACK;
        img.dataset.thumb = 'none';
      }
    };
    probe.src = src;
  };
  refreshThumb();
  const thumbTimer = setInterval(refreshThumb, THUMB_MS);
  let started = Date.now() - s.durationSeconds * 1000;
  const tick = () => {
    const d = info.querySelector('[data-duration]');
    if (d) d.textContent = fmtDuration((Date.now() - started) / 1000);
  };
  const tickTimer = setInterval(tick, 1000);

  toggle.addEventListener('click', () =>
    act(toggle, problems, async () => {
      const path = `/streams/${seg(current.app)}/${seg(current.streamId)}/recording`;
      if (current.recording) await api.del(path);
      else await api.post(path);
      await reload();
    }),
  );
  kick.addEventListener('click', async () => {
    const ok = await confirmDialog({ title: `Kick ${current.app}/${current.streamId}?`, text: 'The publisher is disconnected and its recording finalized. It can publish again (revoke its key to stop that).', confirmLabel: 'Kick', danger: true });
    if (ok) await act(kick, problems, async () => (await api.post(`/streams/${seg(current.app)}/${seg(current.streamId)}/kick`), reload()));
  });

  return {
    el,
    /** @param {LiveStream} next */
    update(next) {
      current = next;
      started = Date.now() - next.durationSeconds * 1000;
      const v = next.video;
      /** @type {Array<[string, string, string?]>} */
      const rows = [
        ['Protocol', next.protocol.toUpperCase()],
        ['Video', v ? `${v.codec}${v.fps ? `, ${Math.round(v.fps)} fps` : ''}` : 'none yet'],
        ['Resolution', v && v.width ? `${v.width}×${v.height}` : '—'],
        ['Audio', next.audio ? next.audio.codec : 'none'],
        ['Bitrate', fmtBitrate(next.bitrate)],
        ['Duration', fmtDuration(next.durationSeconds), 'duration'],
        ['From', next.remoteAddress],
        ['Node', next.node],
      ];
      fill(info, rows.map(([k, val, key]) => [h('dt', {}, k), h('dd', key ? { 'data-duration': '' } : {}, val)]));
      el.dataset.recording = next.recording ? 'on' : 'off';
      recBadge.className = `badge ${next.recording ? 'bad' : ''}`;
      fill(recBadge, next.recording ? `● Recording ${next.recording.name}` : 'Not recording');
      toggle.textContent = next.recording ? 'Stop recording' : 'Start recording';
      play.href = next.urls.player;
    },
    dispose() {
      disposed = true;
      clearInterval(thumbTimer);
      clearInterval(tickTimer);
    },
  };
}
