// DOM helpers: every server or user string goes in as textContent, never as HTML.
export const $ = (sel, root = document) => root.querySelector(sel);

// el('td', {text: 'x', class: 'ok', title: 't', dataset: {path: 'p'}}, child...)
export function el(tag, props = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === 'text') n.textContent = String(v);
    else if (k === 'class') n.className = v;
    else if (k === 'dataset') Object.assign(n.dataset, v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) n.addEventListener(ev, fn);
    else n.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined) n.append(c);
  return n;
}

export function clear(n) {
  n.replaceChildren();
  return n;
}

let statusTimer = 0;
// The status line under the tabs: what just happened, or what failed.
export function status(msg, bad = false) {
  const s = $('#status-line');
  s.textContent = String(msg);
  s.classList.toggle('bad', bad);
  clearTimeout(statusTimer);
  statusTimer = setTimeout(() => { s.textContent = ''; }, 8000);
}

export const fmtTime = (ms) => (ms ? new Date(Number(ms)).toISOString().replace('T', ' ').slice(0, 19) : '');

export function fmtBytes(n) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Number(n) || 0;
  let i = 0;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return `${i ? v.toFixed(1) : v} ${u[i]}`;
}

export const tagsText = (t) => Object.entries(t || {}).map(([k, v]) => `${k}=${v}`).join(', ');
