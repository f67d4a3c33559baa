// Add images: files dropped on the zone or picked, each sent as Base64 `file` with its
// name as `path` (after an optional prefix) and the tags of the form; one line per file
// with its outcome (ok, or the server's IS.xxxx code and message).
import { call, instancePath, parseTags, base64 } from './api.js';
import { $, el, clear, status } from './dom.js';
import { currentInstance, refresh } from './instances.js';

const PARALLEL = 2;

async function addAll(files) {
  const instance = currentInstance();
  if (!instance) { status('Create or choose an instance first', true); return; }
  let tags;
  try {
    tags = parseTags($('#upload-tags').value);
  } catch (e) {
    status(String(e), true);
    return;
  }
  const prefix = $('#upload-prefix').value.trim();
  const list = clear($('#upload-results'));
  const summary = $('#upload-summary');
  let ok = 0;
  let failed = 0;
  const update = () => {
    summary.textContent = `${ok} of ${files.length} added to ${instance}` +
      (failed ? `, ${failed} failed` : '') + (ok + failed < files.length ? ' …' : '');
  };
  update();
  const items = files.map((f) => {
    const outcome = el('span', { class: 'outcome', text: 'sending…' });
    const li = el('li', { dataset: { file: f.name } }, el('span', { text: `${prefix}${f.name}: ` }), outcome);
    list.append(li);
    return { f, li, outcome };
  });
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const it = items[next++];
      const body = { path: prefix + it.f.name, file: await base64(it.f) };
      if (tags) body.tags = tags;
      try {
        await call('POST', `${instancePath(instance)}/image`, body);
        it.outcome.textContent = 'ok';
        it.li.className = 'ok';
        ok++;
      } catch (e) {
        it.outcome.textContent = String(e);
        it.li.className = 'bad';
        failed++;
      }
      update();
    }
  }
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  update();
  refresh();
}

export function init() {
  const zone = $('#drop-zone');
  zone.addEventListener('dragover', (ev) => { ev.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (ev) => {
    ev.preventDefault();
    zone.classList.remove('over');
    const files = [...(ev.dataTransfer?.files || [])];
    if (files.length) addAll(files);
  });
  $('#upload-input').addEventListener('change', (ev) => {
    const files = [...ev.target.files];
    ev.target.value = '';
    if (files.length) addAll(files);
  });
}
