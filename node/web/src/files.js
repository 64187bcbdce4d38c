import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { html } from 'htm/preact';
import { encodePath, fileUrl, json, request, token, upload } from './api.js';
import { bytes, versionTime } from './format.js';

const PAGE_LIMIT = 1000;

/** Splits one listing page into the folders and files directly under prefix. */
function entriesOf(files, prefix) {
  const folders = new Set();
  const direct = [];
  for (const file of files) {
    const rest = file.path.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash >= 0) folders.add(rest.slice(0, slash + 1));
    else direct.push(file);
  }
  return { folders: [...folders], files: direct };
}

const FolderIcon = () => html`
  <svg class="icon" viewBox="0 0 16 16" aria-hidden="true" focusable="false">
    <path d="M1 3h5l2 2h7v8H1z" fill="currentColor" /></svg>`;

function Breadcrumbs({ prefix }) {
  const parts = prefix.split('/').filter(Boolean);
  return html`
    <nav aria-label="Folder" class="crumbs">
      <a href="#/files/">All files</a>
      ${parts.map((part, i) => html` / <a href=${'#/files/' + encodePath(parts.slice(0, i + 1).join('/')) + '/'}
        aria-current=${i === parts.length - 1 ? 'location' : undefined}>${part}</a>`)}
    </nav>`;
}

/**
 * Downloads: a plain link, so the browser streams the file to disk. With a token (a link cannot send it) the
 * click first asks the node for a short-lived signed URL of that version (POST /api/download-url), then follows it
 * as a plain link: still streamed to disk, never held in the page's memory.
 */
function DownloadLink({ path, version, label, name }) {
  const [error, setError] = useState(null);
  const href = fileUrl(path, version);
  const fileName = path.split('/').pop();
  if (!token.get()) {
    return html`<a href=${href} download=${fileName} aria-label=${`${label} ${name}`}>${label}</a>`;
  }
  const click = async (e) => {
    e.preventDefault();
    setError(null);
    try {
      const signed = await json('/api/download-url', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(version ? { path, version } : { path }),
      });
      Object.assign(document.createElement('a'), { href: signed.url, download: fileName }).click();
    } catch (failure) {
      setError(failure.message);
    }
  };
  return html`<a href=${href} onClick=${click} aria-label=${`${label} ${name}`}>${label}</a>
    ${error && html` <span class="error" role="alert">${error}</span>`}`;
}

function Versions({ path }) {
  const [versions, setVersions] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    json('/api/versions/' + encodePath(path)).then(setVersions).catch((e) => setError(e.message));
  }, [path]);
  if (error) return html`<p class="error" role="alert">${error}</p>`;
  if (!versions) return html`<p>Loading versions…</p>`;
  return html`
    <div class="scroll">
      <table class="versions" aria-label=${'Versions of ' + path}>
        <thead><tr><th>Kind</th><th>Version token</th><th>Written</th><th>Origin</th><th>Size</th>
          <th>Content id</th><th><span class="sr">Read</span></th></tr></thead>
        <tbody>
          ${versions.map((v) => html`
            <tr>
              <td>${v.isTombstone ? 'deleted' : v.isWinner ? 'current' : 'conflict'}</td>
              <td><code>${v.version}</code></td>
              <td>${versionTime(v.version)}</td>
              <td>${v.origin}</td>
              <td>${v.isTombstone ? '–' : bytes(v.sizeBytes)}</td>
              <td><code title=${v.contentId}>${v.contentId.slice(0, 12)}…</code></td>
              <td>${!v.isTombstone && html`<${DownloadLink} path=${path} version=${v.version}
                label="Read" name=${`version ${v.version}`} />`}</td>
            </tr>`)}
        </tbody>
      </table>
    </div>`;
}

function FileRow({ file, name, onDeleted }) {
  const [open, setOpen] = useState(false);
  const [error, setError] = useState(null);
  const remove = async () => {
    if (!confirm(`Delete ${file.path}?`)) return;
    try {
      await request(fileUrl(file.path), { method: 'DELETE' });
      onDeleted();
    } catch (e) {
      setError(e.message);
    }
  };
  return html`
    <tr class="file">
      <td class="name">${name}</td>
      <td>${bytes(file.sizeBytes)}</td>
      <td class="wide"><code title=${file.version}>${file.version}</code></td>
      <td class="wide">${file.origin}</td>
      <td class="actions">
        <${DownloadLink} path=${file.path} label="Download" name=${name} />
        <button type="button" aria-expanded=${open} aria-label=${'Versions of ' + name}
          onClick=${() => setOpen(!open)}>Versions</button>
        <button type="button" class="danger" aria-label=${'Delete ' + name} onClick=${remove}>Delete</button>
      </td>
    </tr>
    ${error && html`<tr><td colspan="5" class="error" role="alert">${error}</td></tr>`}
    ${open && html`<tr><td colspan="5"><${Versions} path=${file.path} /></td></tr>`}`;
}

function Uploads({ prefix, onUploaded }) {
  const [items, setItems] = useState([]);
  const [over, setOver] = useState(false);
  const input = useRef(null);
  const update = (id, change) => setItems((list) => list.map((i) => (i.id === id ? { ...i, ...change } : i)));

  const start = async (files) => {
    const added = [...files].map((file, n) => ({ id: `${Date.now()}-${n}`, file, path: prefix + file.name,
      sent: 0, total: file.size, state: 'waiting' }));
    setItems((list) => [...added, ...list]);
    // One at a time: each upload already streams as fast as the node takes it.
    for (const item of added) {
      update(item.id, { state: 'uploading' });
      try {
        await upload(item.path, item.file, (sent, total) => update(item.id, { sent, total }));
        update(item.id, { state: 'done', sent: item.file.size });
        onUploaded();
      } catch (e) {
        update(item.id, { state: 'failed', error: e.message });
      }
    }
  };
  const drop = (e) => {
    e.preventDefault();
    setOver(false);
    if (e.dataTransfer?.files?.length) start(e.dataTransfer.files);
  };
  return html`
    <section class=${'drop' + (over ? ' over' : '')} aria-label="Upload"
      onDragOver=${(e) => { e.preventDefault(); setOver(true); }}
      onDragLeave=${() => setOver(false)} onDrop=${drop}>
      <p>Drop files here to upload them to <code>/${prefix}</code>, or</p>
      <label class="button" for="upload-input">Choose files…</label>
      <input id="upload-input" ref=${input} type="file" multiple class="sr"
        onChange=${(e) => { start(e.target.files); e.target.value = ''; }} />
      ${items.length > 0 && html`
        <ul class="uploads" aria-label="Uploads">
          ${items.map((i) => html`
            <li class=${i.state}>
              <span class="name">${i.file.name}</span>
              <progress max=${i.total || 1} value=${i.sent} aria-label=${'Upload of ' + i.file.name}></progress>
              <span class="state">${i.state === 'failed' ? 'failed: ' + i.error
                : i.state === 'done' ? 'done' : `${bytes(i.sent)} / ${bytes(i.total)}`}</span>
            </li>`)}
        </ul>`}
    </section>`;
}

export function FilesPage({ prefix }) {
  const [listing, setListing] = useState({ folders: [], files: [], next: null });
  const [error, setError] = useState(null);
  const [loading, setLoading] = useState(true);

  const load = useCallback(async (after = null) => {
    setLoading(true);
    try {
      const query = `?limit=${PAGE_LIMIT}` + (after ? '&after=' + encodeURIComponent(after) : '');
      const page = await json('/api/files/' + encodePath(prefix) + query);
      const found = entriesOf(page.files, prefix);
      setListing((old) => ({
        folders: after ? [...new Set([...old.folders, ...found.folders])] : found.folders,
        files: after ? [...old.files, ...found.files] : found.files,
        next: page.next,
      }));
      setError(null);
    } catch (e) {
      setError(e.message);
    } finally {
      setLoading(false);
    }
  }, [prefix]);

  useEffect(() => { load(); }, [load]);

  const empty = !loading && listing.folders.length === 0 && listing.files.length === 0;
  return html`
    <h1>Files</h1>
    <${Breadcrumbs} prefix=${prefix} />
    <${Uploads} prefix=${prefix} onUploaded=${() => load()} />
    <div class="toolbar">
      <button type="button" onClick=${() => load()}>Refresh</button>
      <span role="status">${loading ? 'Loading…' : `${listing.folders.length} folders, ${listing.files.length} files`}</span>
    </div>
    ${error && html`<p class="error" role="alert">${error}</p>`}
    ${empty && html`<p>No files here yet.</p>`}
    <div class="scroll">
      <table class="files" aria-label="Files and folders">
        <thead><tr><th>Name</th><th>Size</th><th class="wide">Version</th><th class="wide">Origin</th>
          <th><span class="sr">Actions</span></th></tr></thead>
        <tbody>
          ${listing.folders.map((folder) => html`
            <tr class="folder"><td colspan="5">
              <a href=${'#/files/' + encodePath(prefix + folder)}><${FolderIcon} />${folder}</a></td></tr>`)}
          ${listing.files.map((file) => html`<${FileRow} key=${file.path} file=${file}
            name=${file.path.slice(prefix.length)} onDeleted=${() => load()} />`)}
        </tbody>
      </table>
    </div>
    ${listing.next && html`<button type="button" onClick=${() => load(listing.next)}>Load more</button>`}`;
}
