// The server's HTTP API as the console calls it: the session (token + project, kept in
// sessionStorage), JSON calls carrying X-Auth-Token, errors as ApiError with the server's
// code (IS.xxxx / APIG.xxxx) and message.
const KEY = 'imagesearch.session';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
  toString() { return this.code ? `${this.code} ${this.message}` : this.message; }
}

let onExpired = () => {};
export function setExpiredHandler(fn) { onExpired = fn; }

export function session() {
  try {
    return JSON.parse(sessionStorage.getItem(KEY) || 'null');
  } catch {
    return null;
  }
}

export function signOut() { sessionStorage.removeItem(KEY); }

async function parse(resp) {
  const text = await resp.text();
  try {
    return text ? JSON.parse(text) : {};
  } catch {
    return { text };
  }
}

function failure(resp, body) {
  const code = body.error_code || body.code || '';
  const msg = body.error_msg || body.message || body.text || `HTTP ${resp.status}`;
  return new ApiError(resp.status, code, msg);
}

// POST /v3/auth/tokens: the password of `user` in `domain`, scoped to `project` by name.
export async function signIn({ domain, user, password, project }) {
  const body = { auth: {
    identity: { methods: ['password'], password: { user: { name: user, password, domain: { name: domain } } } },
    scope: { project: { name: project } } } };
  const resp = await fetch('/v3/auth/tokens', {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const out = await parse(resp);
  if (resp.status !== 201) throw failure(resp, out);
  const token = resp.headers.get('X-Subject-Token');
  const t = out.token || {};
  const s = { token, project_id: t.project?.id, project: t.project?.name, user: t.user?.name,
              domain: t.user?.domain?.name, expires_at: t.expires_at };
  sessionStorage.setItem(KEY, JSON.stringify(s));
  return s;
}

// A JSON call; `path` starting with "~/" is relative to /v1/{project_id}/.
export async function call(method, path, body) {
  const s = session();
  if (!s) throw new ApiError(401, '', 'not signed in');
  const url = path.startsWith('~/') ? `/v1/${encodeURIComponent(s.project_id)}/${path.slice(2)}` : path;
  const init = { method, headers: { 'X-Auth-Token': s.token } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(url, init);
  const out = await parse(resp);
  if (resp.status === 401) onExpired();
  if (!resp.ok) throw failure(resp, out);
  return out;
}

// Text answers (the Prometheus metrics).
export async function text(path) {
  const resp = await fetch(path);
  if (!resp.ok) throw new ApiError(resp.status, '', `HTTP ${resp.status}`);
  return resp.text();
}

export const instancePath = (name) => `~/${encodeURIComponent(name)}`;

// "a=1, b=2" -> {a: "1", b: "2"}; "" -> null.
export function parseTags(s) {
  const out = {};
  for (const part of (s || '').split(',')) {
    const p = part.trim();
    if (!p) continue;
    const eq = p.indexOf('=');
    if (eq <= 0) throw new ApiError(0, '', `a tag is key=value: "${p}"`);
    out[p.slice(0, eq).trim()] = p.slice(eq + 1).trim();
  }
  return Object.keys(out).length ? out : null;
}

// A File or Blob -> its Base64 (no data: prefix).
export function base64(blob) {
  return new Promise((resolve, reject) => {
    const r = new FileReader();
    r.onload = () => resolve(String(r.result).replace(/^data:[^,]*,/, ''));
    r.onerror = () => reject(r.error);
    r.readAsDataURL(blob);
  });
}
