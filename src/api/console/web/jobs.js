// Import jobs (/v1/{p}/image-search/import-jobs): the list with a progress bar per job,
// refreshed by polling while the tab is open; create (into the current instance);
// pause, resume, cancel, re-run, delete.
import { call, parseTags } from './api.js';
import { $, el, clear, status } from './dom.js';
import { currentInstance, refresh as refreshInstances } from './instances.js';

const POLL_MS = 1000;
let timer = 0;
let visible = false;

const JOBS = '~/image-search/import-jobs';

function progressCell(j) {
  const p = j.progress || {};
  const handled = (p.done || 0) + (p.skipped || 0) + (p.failed || 0);
  // `total` (counted ahead of the import) makes the bar determinate before the listing ends.
  const known = p.total !== null && p.total !== undefined;
  const bar = el('progress', { max: Math.max(1, known ? p.total : (p.listed || 0)), value: handled });
  if (!known && !p.listing_complete && j.state === 'running') bar.removeAttribute('value');
  const words = `${p.done || 0} done, ${p.skipped || 0} skipped, ${p.failed || 0} failed of ` +
    (known ? `${p.total}` : `${p.listed || 0} listed`) +
    (p.listing_complete || known ? '' : ' (listing…)') +
    (p.eta_s !== null && p.eta_s !== undefined && j.state === 'running' ? `, ~${Math.ceil(p.eta_s)} s left` : '');
  return el('td', { class: 'progress' }, bar, ' ', el('span', { class: 'progress-text', text: words }));
}

function action(label, id, op) {
  return el('button', { type: 'button', text: label, class: op || label.toLowerCase(), on: { click: async () => {
    try {
      if (op === 'delete') await call('DELETE', `${JOBS}/${encodeURIComponent(id)}`);
      else await call('POST', `${JOBS}/${encodeURIComponent(id)}/${op || label.toLowerCase()}`);
    } catch (e) {
      status(`${label} ${id} failed: ${e}`, true);
    }
    poll();
  } } });
}

function row(j) {
  const actions = el('td', {});
  if (j.state === 'running') actions.append(action('Pause', j.id), action('Cancel', j.id));
  if (j.state === 'paused') actions.append(action('Resume', j.id), action('Cancel', j.id));
  if (['done', 'failed', 'cancelled'].includes(j.state)) {
    actions.append(action('Re-run', j.id, 'rerun'), action('Delete', j.id, 'delete'));
  }
  return el('tr', { dataset: { job: j.id, state: j.state, mode: j.mode, instance: j.instance_name } },
    el('td', { text: j.id }),
    el('td', { text: j.instance_name }),
    el('td', { text: j.source || `manifest (${j.manifest_entries || 0})` }),
    el('td', { class: 'state', text: j.state + (j.error ? `: ${j.error}` : '') }),
    progressCell(j), actions);
}

async function poll() {
  clearTimeout(timer);
  let jobs = [];
  try {
    jobs = (await call('GET', JOBS)).jobs || [];
  } catch (e) {
    status(`Listing jobs failed: ${e}`, true);
  }
  const body = clear($('#job-table tbody'));
  for (const j of jobs) body.append(row(j));
  $('#jobs-empty').hidden = jobs.length > 0;
  if (visible) timer = setTimeout(poll, POLL_MS);
  if (jobs.some((j) => j.state === 'running')) refreshInstances();
}

export function init() {
  $('#job-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const instance = currentInstance();
    if (!instance) { status('Create or choose an instance first', true); return; }
    const body = { instance_name: instance, source: $('#job-source').value.trim(), mode: $('#job-mode').value };
    try {
      const tags = parseTags($('#job-tags').value);
      if (tags) body.tags = tags;
      const folder = $('#job-folder-tag').value.trim();
      if (folder) body.folder_tag = folder;
      const j = await call('POST', JOBS, body);
      status(`Started job ${j.id}`);
    } catch (e) {
      status(`Starting the job failed: ${e}`, true);
    }
    poll();
  });
}

export function show() { visible = true; poll(); }
export function hide() { visible = false; clearTimeout(timer); }
