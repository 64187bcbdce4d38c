import { useEffect, useState } from 'preact/hooks';
import { html } from 'htm/preact';
import { json, parseMetrics, request } from './api.js';
import { bytes, seconds, time } from './format.js';

const SAMPLE_MS = 2000;
const SAMPLES_KEPT = 60;

/** The series drawn: a counter is shown as its rate per second, a gauge as it is. */
const SERIES = [
  { name: 'kepler_http_requests_total', label: 'HTTP requests/s', rate: true },
  { name: 'kepler_http_received_bytes_total', label: 'Upload bytes/s', rate: true, bytes: true },
  { name: 'kepler_http_sent_bytes_total', label: 'Download bytes/s', rate: true, bytes: true },
  { name: 'kepler_stream_sent_bytes_total', label: 'Peer transfer out/s', rate: true, bytes: true },
  { name: 'kepler_replication_queue_depth', label: 'Replication queue' },
  { name: 'kepler_loop_queue_depth', label: 'Loop queue' },
];

function Sparkline({ values, label, format }) {
  const width = 160;
  const height = 36;
  const max = Math.max(1, ...values);
  // Newest sample at the right edge; a short history is stretched over the whole width.
  const step = width / Math.max(1, values.length - 1);
  const points = values.map((v, i) =>
    `${width - (values.length - 1 - i) * step},${height - 2 - (v / max) * (height - 4)}`).join(' ');
  const last = values.length ? values[values.length - 1] : null;
  return html`
    <figure class="spark">
      <svg viewBox=${`0 0 ${width} ${height}`} role="img"
        aria-label=${`${label}: now ${last === null ? 'no data' : format(last)}, peak ${format(max)}`}>
        <polyline points=${points} fill="none" stroke="currentColor" stroke-width="1.5" />
      </svg>
      <figcaption>${label}: <strong>${last === null ? '–' : format(last)}</strong></figcaption>
    </figure>`;
}

function useSamples() {
  const [samples, setSamples] = useState({});
  useEffect(() => {
    let previous = null;
    const sample = async () => {
      try {
        const totals = parseMetrics(await (await request('/metrics')).text());
        const now = performance.now();
        if (previous) {
          const elapsed = (now - previous.at) / 1000;
          setSamples((old) => Object.fromEntries(SERIES.map((s) => {
            const value = s.rate ? Math.max(0, ((totals[s.name] ?? 0) - (previous.totals[s.name] ?? 0)) / elapsed)
              : totals[s.name] ?? 0;
            return [s.name, [...(old[s.name] ?? []), value].slice(-SAMPLES_KEPT)];
          })));
        }
        previous = { at: now, totals };
      } catch {
        // The next sample tries again.
      }
    };
    sample();
    const interval = setInterval(sample, SAMPLE_MS);
    return () => clearInterval(interval);
  }, []);
  return samples;
}

function useEvents(events) {
  const [list, setList] = useState(events.list);
  useEffect(() => {
    const listener = () => setList(events.list);
    events.listeners.add(listener);
    return () => events.listeners.delete(listener);
  }, [events]);
  return list;
}

function Facts({ status, disk }) {
  const quota = disk?.quotaBytes;
  return html`
    <section aria-labelledby="node-title">
      <h2 id="node-title">${status.nodeId}</h2>
      <dl class="facts">
        <dt>State</dt><dd>${status.ready ? 'ready' : 'recovering'}, up ${seconds(status.uptimeSeconds)}</dd>
        <dt>Free disk</dt><dd>${bytes(status.freeBytes)}</dd>
        <dt>Disk quota</dt><dd>${quota ? html`${bytes(disk.usedBytes)} of ${bytes(quota)} used
          <progress max=${quota} value=${disk.usedBytes} aria-label="Disk quota used"></progress>`
          : 'none (MAX_DISK_MB unset)'}</dd>
        <dt>Queue depth</dt><dd>${status.queueDepth}</dd>
        <dt>Chunks written</dt><dd>${status.chunksWritten}</dd>
        <dt>Members</dt><dd>${status.members} in ring, ${status.knownMembers} known (${status.membership})</dd>
        <dt>Replication</dt><dd>N = ${status.replicationTarget} (factor ${status.replicationFactorRequested})</dd>
        <dt>Chunk size</dt><dd>${bytes(status.chunkSizeBytes)}</dd>
        <dt>HTTP</dt><dd><code>${status.http}</code></dd>
        <dt>Gossip</dt><dd><code>${status.gossip}</code></dd>
        <dt>Transfer</dt><dd><code>${status.transfer}</code></dd>
        <dt>Data dir</dt><dd><code>${status.dataDir}</code></dd>
        <dt>Version</dt><dd>${status.version}</dd>
      </dl>
    </section>`;
}

export function NodePage({ events }) {
  const [status, setStatus] = useState(null);
  const [disk, setDisk] = useState(null);
  const [error, setError] = useState(null);
  const samples = useSamples();
  const list = useEvents(events);
  useEffect(() => {
    const load = () => Promise.all([json('/api/status'), json('/api/ui/cluster')])
      .then(([s, ui]) => { setStatus(s); setDisk(ui.disk); setError(null); })
      .catch((e) => setError(e.message));
    load();
    const interval = setInterval(load, SAMPLE_MS);
    return () => clearInterval(interval);
  }, []);
  return html`
    <h1>Node</h1>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="grid">
      ${status ? html`<${Facts} status=${status} disk=${disk} />` : html`<p>Loading…</p>`}
      <section aria-labelledby="metrics-title">
        <h2 id="metrics-title">Metrics (last 2 min)</h2>
        <div class="sparks">
          ${SERIES.map((s) => html`<${Sparkline} values=${samples[s.name] ?? []} label=${s.label}
            format=${s.bytes ? (v) => bytes(Math.round(v)) : (v) => (s.rate ? v.toFixed(1) : String(v))} />`)}
        </div>
      </section>
      <section aria-labelledby="events-title" class="events">
        <h2 id="events-title">Recent events</h2>
        ${list.length === 0 ? html`<p>No events since this page opened.</p>` : html`
          <ol class="events" aria-label="Recent events, newest first">
            ${list.slice(0, 50).map((e) => html`
              <li><time>${time(e.at)}</time> <strong>${e.kind}</strong>
                <code>${JSON.stringify(e.data)}</code></li>`)}
          </ol>`}
      </section>
    </div>`;
}
