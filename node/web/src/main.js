import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { html } from 'htm/preact';
import { json, token, whenUnauthorized, followEvents } from './api.js';
import { FilesPage } from './files.js';
import { ClusterPage } from './cluster.js';
import { NodePage } from './node.js';

const PAGES = [
  ['files', 'Files'],
  ['cluster', 'Cluster'],
  ['node', 'Node'],
];

/** The route from the hash: #/files/some/folder/ → ['files', 'some/folder/']. */
function route() {
  const hash = decodeURIComponent(location.hash.replace(/^#\/?/, ''));
  const slash = hash.indexOf('/');
  const page = slash < 0 ? hash : hash.slice(0, slash);
  const rest = slash < 0 ? '' : hash.slice(slash + 1);
  return PAGES.some(([id]) => id === page) ? [page, rest] : ['files', ''];
}

const EVENTS_KEPT = 200;

/** Recent events from /api/events, newest first, shared by the pages; listeners hear each one. */
const events = {
  list: [],
  listeners: new Set(),
  state: 'connecting',
  add(kind, data) {
    this.list = [{ at: new Date(), kind, data }, ...this.list].slice(0, EVENTS_KEPT);
    this.listeners.forEach((l) => l(kind, data));
  },
};

function Login({ error, onToken }) {
  const [value, setValue] = useState('');
  const submit = (e) => {
    e.preventDefault();
    if (value.trim()) onToken(value.trim());
  };
  return html`
    <main class="login" id="main">
      <h1>KeplerFS</h1>
      <form onSubmit=${submit}>
        <p>This node's API needs a token (API_TOKENS). It is kept for this browser tab only.</p>
        <label for="token">API token</label>
        <input id="token" type="password" autocomplete="current-password" required
          value=${value} onInput=${(e) => setValue(e.target.value)} />
        <button type="submit">Sign in</button>
        ${error && html`<p class="error" role="alert">${error}</p>`}
      </form>
    </main>`;
}

function App() {
  const [[page, rest], setRoute] = useState(route());
  const [status, setStatus] = useState(null);
  const [login, setLogin] = useState(null); // null: signed in or not needed; else the message to show
  const [live, setLive] = useState('connecting');

  useEffect(() => {
    const onHash = () => setRoute(route());
    addEventListener('hashchange', onHash);
    // Several requests fail at once with a wrong token; one whose body could not be read (aborted as the page
    // re-renders) carries only the status line: it must not replace the server's message already shown
    // (UiTokenTests saw "Unauthorized" instead of "the API token is not valid" under load).
    whenUnauthorized((e) => setLogin((shown) => {
      if (!token.get()) return '';
      return shown && e.code === 'http_401' ? shown : e.message;
    }));
    return () => removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    if (login !== null) return undefined;
    json('/api/status').then(setStatus).catch(() => {});
    return followEvents((kind, data) => events.add(kind, data), (state) => {
      events.state = state;
      setLive(state);
    });
  }, [login]);

  useEffect(() => {
    const name = PAGES.find(([id]) => id === page)[1];
    document.title = `${name} · ${status?.nodeId ?? 'KeplerFS'}`;
  }, [page, status]);

  if (login !== null) {
    return html`<${Login} error=${login} onToken=${(value) => {
      token.set(value);
      setLogin(null);
    }} />`;
  }

  const signOut = () => {
    token.clear();
    setLogin('');
  };
  return html`
    <a class="skip" href="#main" onClick=${(e) => {
      e.preventDefault();
      document.getElementById('main')?.focus();
    }}>Skip to content</a>
    <header>
      <span class="brand">KeplerFS <span class="node-id" title="this node">${status?.nodeId ?? ''}</span></span>
      <nav aria-label="Pages">
        ${PAGES.map(([id, name]) => html`
          <a href=${'#/' + id} aria-current=${page === id ? 'page' : undefined}>${name}</a>`)}
      </nav>
      <span class=${'live ' + live} role="status" aria-label=${'events ' + live}>${live}</span>
      ${token.get() && html`<button type="button" class="link" onClick=${signOut}>Sign out</button>`}
      <a class="docs" href="/docs/">API</a>
    </header>
    <main id="main" tabindex="-1">
      ${page === 'files' && html`<${FilesPage} prefix=${rest} />`}
      ${page === 'cluster' && html`<${ClusterPage} events=${events} />`}
      ${page === 'node' && html`<${NodePage} events=${events} />`}
    </main>`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
