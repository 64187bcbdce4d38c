// The node's HTTP API as the UI uses it: JSON calls, uploads with progress, and the server-sent events.
// The API token (when API_TOKENS is on) lives in sessionStorage only: it is gone when the tab closes.

const TOKEN_KEY = 'kepler.token';

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** An API error: the HTTP status and the JSON error's code and message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

let onUnauthorized = () => {};

/** Called with the error whenever the API answers 401 (no token, or a wrong one). */
export function whenUnauthorized(callback) {
  onUnauthorized = callback;
}

function headers(extra = {}) {
  const value = token.get();
  return value ? { ...extra, Authorization: `Bearer ${value}` } : extra;
}

async function fail(response) {
  let code = 'http_' + response.status;
  let message = response.statusText || `HTTP ${response.status}`;
  try {
    const body = await response.json();
    code = body.code ?? code;
    message = body.message ?? message;
  } catch {
    // Not the JSON error shape (a proxy, say): keep the status line.
  }
  const error = new ApiError(response.status, code, message);
  if (response.status === 401) onUnauthorized(error);
  throw error;
}

/** Sends a request; the response if it succeeded, else throws an ApiError. */
export async function request(path, options = {}) {
  const response = await fetch(path, { ...options, headers: headers(options.headers) });
  if (!response.ok) await fail(response);
  return response;
}

/** GETs (or sends) JSON. */
export async function json(path, options = {}) {
  return (await request(path, options)).json();
}

/** A file path as a URL path: every segment percent-encoded, the slashes kept. */
export function encodePath(path) {
  return path.split('/').map(encodeURIComponent).join('/');
}

export const fileUrl = (path, version) =>
  '/api/files/' + encodePath(path) + (version ? '?version=' + encodeURIComponent(version) : '');

/**
 * Uploads one File with XMLHttpRequest: the File itself is the body, so the browser streams it from disk and
 * never holds it whole; upload.onprogress reports bytes sent. Resolves with the new version's JSON.
 */
export function upload(path, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', fileUrl(path));
    const value = token.get();
    if (value) xhr.setRequestHeader('Authorization', `Bearer ${value}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onerror = () => reject(new ApiError(0, 'network', 'the upload failed: the connection was lost'));
    xhr.onload = () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // Handled below.
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(body);
        return;
      }
      const error = new ApiError(xhr.status, body?.code ?? 'http_' + xhr.status, body?.message ?? xhr.statusText);
      if (xhr.status === 401) onUnauthorized(error);
      reject(error);
    };
    xhr.send(file);
  });
}

/**
 * Follows /api/events (server-sent events) with fetch, so the Authorization header can be sent (EventSource
 * cannot send one). Calls onEvent(kind, data) per event and onState('live' | 'reconnecting'); reconnects after
 * a drop. Returns a function that stops it.
 */
export function followEvents(onEvent, onState) {
  const abort = new AbortController();
  let retryMs = 1000;
  const run = async () => {
    while (!abort.signal.aborted) {
      try {
        const response = await request('/api/events', { signal: abort.signal });
        onState('live');
        retryMs = 1000;
        await readEvents(response.body, onEvent);
      } catch (e) {
        if (abort.signal.aborted || e.status === 401) return;
      }
      onState('reconnecting');
      await new Promise((resolve) => setTimeout(resolve, retryMs));
      retryMs = Math.min(retryMs * 2, 15000);
    }
  };
  run();
  return () => abort.abort();
}

async function readEvents(body, onEvent) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let kind = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) kind = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      if (data) onEvent(kind, JSON.parse(data).data);
    }
  }
}

/** Parses Prometheus text into {name: total} summed over labels (enough for the Node page's sparklines). */
export function parseMetrics(text) {
  const totals = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    const brace = line.indexOf('{');
    const name = brace > 0 && brace < space ? line.slice(0, brace) : line.slice(0, space);
    totals[name] = (totals[name] ?? 0) + Number(line.slice(space + 1));
  }
  return totals;
}
