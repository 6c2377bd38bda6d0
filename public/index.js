// @ts-check
/**
 * bucketcast landing page: fills in this host's publish URLs (RTMP, RTMPS,
 * WHIP) for the application and stream id typed in, from `GET /landing.json`
 * (the ports) and the page's own address. Its state is on <body data-state>
 * (loading, ready, error) for people and tests.
 */

/** @typedef {import('./types.js').LandingFacts} LandingFacts */

/**
 * @template {HTMLElement} T
 * @param {string} id
 * @param {new () => T} type
 * @returns {T}
 */
function byId(id, type) {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`landing page: no #${id}`);
  return el;
}

const appInput = byId('app', HTMLInputElement);
const streamInput = byId('streamId', HTMLInputElement);
const text = (/** @type {string} */ id, /** @type {string} */ value) => void (byId(id, HTMLElement).textContent = value);

/** @type {LandingFacts} */
let facts = { rtmpPort: 1935, rtmpsPort: null, whip: true };

function render() {
  const app = appInput.value.trim() || 'live';
  const streamId = streamInput.value.trim() || 'mystream';
  const host = location.hostname;
  const rtmpServer = `rtmp://${host}:${facts.rtmpPort}/${encodeURIComponent(app)}`;
  text('rtmp-server', rtmpServer);
  text('rtmp-key', streamId);
  text('rtmp-url', `${rtmpServer}/${encodeURIComponent(streamId)}`);
  text('ffmpeg-cmd', `ffmpeg -re -i input.mp4 -c copy -f flv ${rtmpServer}/${encodeURIComponent(streamId)}`);
  const rtmps = facts.rtmpsPort !== null;
  byId('rtmps-title', HTMLElement).hidden = !rtmps;
  byId('rtmps', HTMLElement).hidden = !rtmps;
  if (rtmps) text('rtmps-url', `rtmps://${host}:${facts.rtmpsPort}/${encodeURIComponent(app)}/${encodeURIComponent(streamId)}`);
  byId('whip-title', HTMLElement).hidden = !facts.whip;
  byId('whip', HTMLElement).hidden = !facts.whip;
  text('whip-url', new URL(`${encodeURIComponent(app)}/whip/${encodeURIComponent(streamId)}`, location.href).href);
  const play = `play.html?${new URLSearchParams({ app, id: streamId })}`;
  byId('link-player', HTMLAnchorElement).href = play;
  byId('watch-live', HTMLAnchorElement).href = play;
  byId('link-publish', HTMLAnchorElement).href = `publish.html?${new URLSearchParams({ app, id: streamId })}`;
}

appInput.addEventListener('input', render);
streamInput.addEventListener('input', render);
byId('form', HTMLFormElement).addEventListener('submit', (e) => e.preventDefault());
render();

fetch('landing.json', { cache: 'no-store' })
  .then((r) => {
    if (!r.ok) throw new Error(`landing.json: ${r.status}`);
    return /** @type {Promise<LandingFacts>} */ (r.json());
  })
  .then((f) => {
    facts = f;
    render();
    document.body.dataset.state = 'ready';
  })
  .catch(() => {
    // The URLs stay, with the default RTMP port.
    document.body.dataset.state = 'error';
  });
