// Instances: list (GET /v1/{p}/image-search/instances), create, inspect (query instance
// and its index stats), delete (after a confirmation). Also fills the current-instance
// selector the other tabs use.
import { call, instancePath } from './api.js';
import { $, el, clear, status, fmtTime, fmtBytes } from './dom.js';

let list = [];

export function currentInstance() { return $('#current-instance').value; }

function fillSelector() {
  const sel = $('#current-instance');
  const keep = sel.value;
  clear(sel);
  for (const i of list) sel.append(el('option', { value: i.instanceName, text: i.instanceName }));
  if (list.some((i) => i.instanceName === keep)) sel.value = keep;
  sel.dispatchEvent(new Event('change'));
}

function row(i) {
  const name = i.instanceName;
  return el('tr', { dataset: { instance: name } },
    el('td', { text: name, class: 'name' }),
    el('td', { text: i.domain }),
    el('td', { text: i.images, class: 'images' }),
    el('td', { text: (i.tags || []).join(', ') }),
    el('td', { text: i.status }),
    el('td', { text: fmtTime(i.registerDate) }),
    el('td', {},
      el('button', { type: 'button', text: 'Inspect', class: 'inspect', on: { click: () => inspect(name) } }),
      el('button', { type: 'button', text: 'Delete', class: 'delete', on: { click: () => remove(name) } })));
}

export async function refresh() {
  try {
    const out = await call('GET', '~/image-search/instances');
    list = out.instances || [];
  } catch (e) {
    status(`Listing instances failed: ${e}`, true);
    return;
  }
  const body = clear($('#instance-table tbody'));
  for (const i of list) body.append(row(i));
  $('#instances-empty').hidden = list.length > 0;
  fillSelector();
}

async function inspect(name) {
  const box = $('#instance-details');
  const dl = clear($('#details-list'));
  $('#details-title').textContent = name;
  box.hidden = false;
  const add = (k, v) => dl.append(el('dt', { text: k }), el('dd', { text: v, dataset: { key: k } }));
  try {
    const [i, ix] = await Promise.all([call('GET', `~/service/${encodeURIComponent(name)}`),
                                       call('GET', `${instancePath(name)}/index`)]);
    add('model', i.domain);
    add('description', i.desc);
    add('tag keys', (i.tags || []).join(', '));
    add('status', i.status);
    add('created', fmtTime(i.registerDate));
    add('capacity', i.level);
    const x = ix.index || {};
    add('index tier', x.tier);
    add('vectors', x.vectors);
    add('ANN rows', x.ann_rows);
    add('buffer rows', x.buffer_rows);
    add('index memory', fmtBytes(x.ram_bytes));
    add('index disk', fmtBytes(x.disk_bytes));
  } catch (e) {
    add('error', String(e));
  }
}

async function remove(name) {
  if (!window.confirm(`Delete instance "${name}" and all its images?`)) return;
  try {
    await call('DELETE', `~/service/${encodeURIComponent(name)}`);
    status(`Deleted instance ${name}`);
    $('#instance-details').hidden = true;
  } catch (e) {
    status(`Deleting ${name} failed: ${e}`, true);
  }
  await refresh();
}

export function init() {
  $('#create-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = $('#create-name').value.trim();
    const body = { name, model: $('#create-model').value };
    const tags = $('#create-tags').value.split(',').map((t) => t.trim()).filter(Boolean);
    if (tags.length) body.tags = tags;
    const desc = $('#create-desc').value.trim();
    if (desc) body.description = desc;
    try {
      await call('POST', '~/service', body);
      status(`Created instance ${name}`);
      ev.target.reset();
      await refresh();
      $('#current-instance').value = name;
      $('#current-instance').dispatchEvent(new Event('change'));
    } catch (e) {
      status(`Creating ${name} failed: ${e}`, true);
    }
  });
}

export function show() { refresh(); }
