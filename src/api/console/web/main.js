// The console's entry: sign in / sign out, the tabs, the current instance; each tab's
// behaviour is in its own module.
import { session, signIn, signOut, setExpiredHandler } from './api.js';
import { $, status } from './dom.js';
import * as instances from './instances.js';
import * as upload from './upload.js';
import * as search from './search.js';
import * as jobs from './jobs.js';
import * as metrics from './metrics.js';

const tabs = { instances, images: upload, search, jobs, metrics };
let current = 'instances';

function showTab(name) {
  current = name;
  for (const b of document.querySelectorAll('.tabs [data-tab]')) {
    b.setAttribute('aria-selected', String(b.dataset.tab === name));
  }
  for (const t of Object.keys(tabs)) $(`#tab-${t}`).hidden = t !== name;
  for (const [t, m] of Object.entries(tabs)) {
    if (t !== name && m.hide) m.hide();
  }
  if (tabs[name].show) tabs[name].show();
}

function render() {
  const s = session();
  $('#signin-view').hidden = !!s;
  $('#app-view').hidden = !s;
  $('#sign-out').hidden = !s;
  $('#who').textContent = s ? `${s.user} @ ${s.domain} / project ${s.project} (${s.project_id})` : '';
  if (s) {
    instances.refresh();
    showTab(current);
  } else {
    for (const m of Object.values(tabs)) if (m.hide) m.hide();
    $('#signin-user').focus();
  }
}

function init() {
  $('#signin-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const f = ev.target.elements;
    $('#signin-error').textContent = '';
    $('#signin-submit').disabled = true;
    try {
      await signIn({ domain: f.domain.value.trim(), user: f.user.value.trim(),
                     password: f.password.value, project: f.project.value.trim() });
      f.password.value = '';
      render();
    } catch (e) {
      $('#signin-error').textContent = `Sign-in failed: ${e}`;
    } finally {
      $('#signin-submit').disabled = false;
    }
  });
  $('#sign-out').addEventListener('click', () => { signOut(); render(); });
  setExpiredHandler(() => {
    signOut();
    render();
    $('#signin-error').textContent = 'Your session has ended: sign in again.';
  });
  for (const b of document.querySelectorAll('.tabs [data-tab]')) {
    b.addEventListener('click', () => showTab(b.dataset.tab));
  }
  window.addEventListener('unhandledrejection', (ev) => status(String(ev.reason), true));
  for (const m of Object.values(tabs)) if (m.init) m.init();
  render();
}

init();
