// Server metrics: the gauges and request counters of /metrics (Prometheus text), and the
// operator totals of /admin/v1/stats when the signed-in user is an operator.
import { call, text } from './api.js';
import { $, el, clear, fmtBytes } from './dom.js';

const GAUGES = [
  ['imagesearch_instances', 'instances', String],
  ['imagesearch_images', 'images', String],
  ['imagesearch_import_jobs_running', 'import jobs running', String],
  ['imagesearch_index_ram_bytes', 'index memory', fmtBytes],
  ['imagesearch_index_disk_bytes', 'index disk', fmtBytes],
];

// Prometheus text -> [{name, labels: {}, value}].
export function parseMetrics(body) {
  const out = [];
  for (const line of body.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of (m[3] || '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

async function refresh() {
  const dl = clear($('#metrics-list'));
  const routes = clear($('#metrics-routes tbody'));
  const add = (k, v) => dl.append(el('dt', { text: k }), el('dd', { text: v, dataset: { metric: k } }));
  try {
    const m = parseMetrics(await text('/metrics'));
    for (const [name, label, fmt] of GAUGES) {
      const g = m.find((x) => x.name === name);
      if (g) add(label, fmt(g.value));
    }
    const reqs = m.filter((x) => x.name === 'imagesearch_http_requests_total');
    add('requests answered', String(reqs.reduce((s, x) => s + x.value, 0)));
    reqs.sort((a, b) => b.value - a.value);
    for (const r of reqs.slice(0, 20)) {
      routes.append(el('tr', {}, el('td', { text: r.labels.method }), el('td', { text: r.labels.route }),
        el('td', { text: r.labels.status }), el('td', { text: r.value })));
    }
  } catch (e) {
    add('/metrics', `unavailable: ${e}`);
  }
  try {
    const s = await call('GET', '/admin/v1/stats');
    add('all projects: instances', String(s.instances));
    add('all projects: images', String(s.images));
  } catch {
    // not an operator: the project's own figures above are all there is
  }
}

export function init() { $('#metrics-refresh').addEventListener('click', refresh); }
export function show() { refresh(); }
