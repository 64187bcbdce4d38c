import { useEffect, useRef, useState } from 'preact/hooks';
import { html } from 'htm/preact';
import { json } from './api.js';
import { bytes, seconds } from './format.js';

const COLORS = ['#2f6fdf', '#d9480f', '#2b8a3e', '#ae3ec9', '#e67700', '#0c8599', '#c2255c', '#5c940d'];
const REFRESH_MS = 1000;

export const colorOf = (nodes, id) => COLORS[Math.max(0, nodes.indexOf(id)) % COLORS.length];

/** Loads the cluster's state now, every second, and (debounced) on every membership or replication event. */
function useClusterState(events) {
  const [state, setState] = useState(null);
  const [error, setError] = useState(null);
  const timer = useRef(null);
  useEffect(() => {
    let stopped = false;
    const load = async () => {
      try {
        const [members, ui, ring, replication, under] = await Promise.all([json('/api/members'),
          json('/api/ui/cluster'), json('/api/ring'), json('/api/replication'),
          json('/api/under-replicated?limit=256')]);
        if (!stopped) {
          setState({ members, ui, ring, replication, under });
          setError(null);
        }
      } catch (e) {
        if (!stopped) setError(e.message);
      }
    };
    const soon = () => {
      clearTimeout(timer.current);
      timer.current = setTimeout(load, 100);
    };
    const listener = (kind) => {
      if (kind.startsWith('member.') || kind.startsWith('ring.') || kind.startsWith('replication.')) soon();
    };
    events.listeners.add(listener);
    load();
    const interval = setInterval(load, REFRESH_MS);
    return () => {
      stopped = true;
      events.listeners.delete(listener);
      clearInterval(interval);
      clearTimeout(timer.current);
    };
  }, [events]);
  return [state, error];
}

/** When this node last received anything from the member (the node's own SWIM record, /api/members). */
function lastHeard(m) {
  if (m.self) return 'this node';
  const ago = m.lastHeardSecondsAgo;
  return ago === null || ago === undefined ? '–' : `${seconds(ago)} ago`;
}

function Members({ members, ui, nodes }) {
  const since = Object.fromEntries(ui.members.map((m) => [m.id, m.stateForSeconds]));
  return html`
    <section aria-labelledby="members-title">
      <h2 id="members-title">Members</h2>
      <div class="scroll">
        <table class="members" aria-label="Members">
          <thead><tr><th>Node</th><th>State</th><th>Incarnation</th><th>Last heard</th><th>In state for</th>
            <th class="wide">Gossip</th><th class="wide">Ring</th></tr></thead>
          <tbody>
            ${members.map((m) => html`
              <tr data-member=${m.id}>
                <td><span class="swatch" style=${'background:' + colorOf(nodes, m.id)}></span>
                  ${m.id}${m.self ? ' (this node)' : ''}</td>
                <td><span class=${'badge ' + m.state} data-state=${m.state}>${m.state}</span></td>
                <td>${m.incarnation}</td>
                <td data-heard=${m.lastHeardSecondsAgo ?? ''}>${lastHeard(m)}</td>
                <td>${since[m.id] === undefined ? '–' : seconds(since[m.id])}</td>
                <td class="wide"><code>${m.gossip}</code></td>
                <td class="wide">${m.inRing ? 'owns data' : 'not in ring'}</td>
              </tr>`)}
          </tbody>
        </table>
      </div>
    </section>`;
}

/** The ring: one band per replica (outermost = primary owner), each arc coloured by its owner. */
function Ring({ ui, ring, nodes }) {
  const size = 260;
  const center = size / 2;
  const bands = Math.max(1, ring.replicationFactor);
  const width = Math.min(26, 80 / bands);
  const point = (radius, sample) => {
    const angle = (sample / 360) * 2 * Math.PI - Math.PI / 2;
    return [center + radius * Math.cos(angle), center + radius * Math.sin(angle)];
  };
  const arc = (radius, from, to) => {
    const [x1, y1] = point(radius, from);
    const [x2, y2] = point(radius, to === from + 360 ? to - 0.01 : to);
    return `M ${x1} ${y1} A ${radius} ${radius} 0 ${to - from > 180 ? 1 : 0} 1 ${x2} ${y2}`;
  };
  const description = ring.nodes.map((n) =>
    `${n.id} owns ${(n.primaryShare * 100).toFixed(1)} % as primary, ${(n.share * 100).toFixed(1)} % of replicas`)
    .join('; ');
  return html`
    <section aria-labelledby="ring-title" class="ring">
      <h2 id="ring-title">Ring</h2>
      <svg viewBox=${`0 0 ${size} ${size}`} role="img" aria-label=${'Ring: ' + (description || 'empty')}>
        <circle cx=${center} cy=${center} r=${center - 4} class="ring-outline" />
        ${ui.ring.flatMap((a) => a.owners.map((owner, replica) => html`
          <path d=${arc(center - 8 - replica * (width + 3) - width / 2, a.from, a.to)}
            stroke=${colorOf(nodes, owner)} stroke-width=${width} fill="none">
            <title>${`${owner}: replica ${replica + 1} of ${a.from}°–${a.to}°`}</title>
          </path>`))}
        <text x=${center} y=${center} text-anchor="middle" class="ring-label">
          ${`${ring.nodes.length} node${ring.nodes.length === 1 ? '' : 's'} · N=${ring.replicationFactor}`}</text>
      </svg>
      <ul class="legend">
        ${ring.nodes.map((n) => html`
          <li><span class="swatch" style=${'background:' + colorOf(nodes, n.id)}></span>
            ${n.id}: ${(n.primaryShare * 100).toFixed(1)} % primary, ${(n.share * 100).toFixed(1)} % of copies</li>`)}
      </ul>
      <p class="hint">Outer band: primary owner; inner bands: further replicas (sampled at 1°).</p>
    </section>`;
}

function Copies({ under }) {
  const histogram = {};
  for (const c of under.chunks) histogram[c.copies] = (histogram[c.copies] ?? 0) + 1;
  const counts = Object.keys(histogram).map(Number).sort((a, b) => a - b);
  return html`
    <section aria-labelledby="copies-title">
      <h2 id="copies-title">Copies per chunk</h2>
      <p>${under.referencedChunks} chunks referenced by live files; target N = ${under.replicationTarget}.</p>
      ${under.total === 0
        ? html`<p class="ok">No chunk this node placed is waiting for a copy: all have their N.</p>`
        : html`
          <p>${under.total} chunks still need copies${under.truncated ? ' (first 256 shown)' : ''}:</p>
          <ul class="copies">
            ${counts.map((c) => html`<li><strong>${histogram[c]}</strong>${
              ` with ${c} of ${under.replicationTarget} copies`}</li>`)}
          </ul>`}
    </section>`;
}

function Repair({ replication }) {
  const peak = useRef(0);
  const progress = replication.progress;
  // The last progress event may predate an emptied queue: an empty queue means nothing is left.
  const left = replication.queueDepth === 0 ? 0 : progress?.chunksLeft ?? replication.underReplicated;
  peak.current = left === 0 ? 0 : Math.max(peak.current, left);
  const done = peak.current === 0 ? 1 : 1 - left / peak.current;
  return html`
    <section aria-labelledby="repair-title">
      <h2 id="repair-title">Replication and repair</h2>
      <dl class="facts">
        <dt>Queue</dt><dd>${replication.queueDepth} entries (${bytes(replication.queueBytes)})</dd>
        <dt>Under-replicated</dt><dd>${replication.underReplicated} chunks</dd>
        <dt>Rate</dt><dd>${progress ? `${progress.chunksPerSecond.toFixed(1)} chunks/s` : '–'}</dd>
        <dt>ETA</dt><dd>${left === 0 ? 'done' : progress ? seconds(progress.etaMicroseconds / 1e6) : '–'}</dd>
        <dt>Replicated</dt><dd>${replication.chunksReplicated} (${replication.replicationFailures} failed tries)</dd>
        <dt>Scrub</dt><dd>${`${replication.scrub.verified} verified, ${replication.scrub.found} bad, ` +
          `${replication.scrub.repaired} repaired`}</dd>
      </dl>
      <progress max="1" value=${done} aria-label="Repair progress"></progress>
      <span> ${left === 0 ? 'nothing left to copy' : `${left} chunks left (${bytes(progress?.bytesLeft)})`}</span>
    </section>`;
}

export function ClusterPage({ events }) {
  const [state, error] = useClusterState(events);
  if (!state) return html`<h1>Cluster</h1>${error ? html`<p class="error" role="alert">${error}</p>` : html`<p>Loading…</p>`}`;
  const nodes = [...new Set([...state.members.map((m) => m.id), ...state.ring.nodes.map((n) => n.id)])].sort();
  return html`
    <h1>Cluster</h1>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    <div class="grid">
      <${Members} members=${state.members} ui=${state.ui} nodes=${nodes} />
      <${Ring} ui=${state.ui} ring=${state.ring} nodes=${nodes} />
      <${Repair} replication=${state.replication} />
      <${Copies} under=${state.under} />
    </div>`;
}
