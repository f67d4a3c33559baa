// Drives the web console (/console/) in Debian's headless Chromium as a user would, through
// playwright-core (no browser download: /usr/bin/chromium). Run by tests/console/
// test_console.py, which starts the real server and checks the outcome through the API too.
// Input (argv[2], JSON): {base, domain, user, password, project, red: [file], blue: [file],
//   query, query_name, import_source, import_count, cli_instance, cli_query, cli_expect,
//   shots}
// Output (stdout, JSON): what the user saw; exit 1 with the failed check on stderr.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

const spec = JSON.parse(process.argv[2]);
const seen = {};
const problems = [];
const T = 20000;

function check(cond, what) {
  if (!cond) throw new Error(`check failed: ${what}`);
}

// Width and height of a JPEG (its first SOFn marker).
function jpegSize(buf) {
  for (let i = 2; i + 9 < buf.length;) {
    if (buf[i] !== 0xff) return null;
    const m = buf[i + 1];
    const len = buf.readUInt16BE(i + 2);
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      return { h: buf.readUInt16BE(i + 5), w: buf.readUInt16BE(i + 7) };
    }
    i += 2 + len;
  }
  return null;
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(T);
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // Errors in the page (CSP refusals included), except the failed answers the test provokes
  // (a wrong password, a file that is no image), which Chromium logs as failed loads.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console error: ${m.text()}`);
  });
  page.on('dialog', (d) => { seen.dialog = d.message(); d.accept(); });
  const searches = [];
  page.on('request', (r) => {
    if (r.method() === 'POST' && r.url().endsWith('/image/search')) searches.push(JSON.parse(r.postData() || '{}'));
  });
  const shot = (name) => page.screenshot({ path: path.join(spec.shots, name), fullPage: true });

  // --- sign in: `/` leads to the console ---
  const first = await page.goto(spec.base + '/');
  seen.landing_url = page.url();
  check(first.ok() && page.url() === spec.base + '/console/', `/ leads to /console/ (${page.url()})`);
  await page.locator('#signin-form').waitFor();
  await page.fill('#signin-domain', spec.domain);
  await page.fill('#signin-user', spec.user);
  await page.fill('#signin-password', 'not-the-password');
  await page.fill('#signin-project', spec.project);
  await page.click('#signin-submit');
  await page.locator('#signin-error').filter({ hasText: 'Sign-in failed' }).waitFor();
  seen.bad_signin = await page.textContent('#signin-error');
  await page.fill('#signin-password', spec.password);
  await shot('signin.png');
  await page.click('#signin-submit');
  await page.locator('#who').filter({ hasText: spec.user }).waitFor();
  seen.who = await page.textContent('#who');
  const stored = await page.evaluate(() => JSON.parse(sessionStorage.getItem('imagesearch.session')));
  check(stored && stored.token && stored.project_id, 'the token is kept in sessionStorage');

  // --- instances: create one with a tag key ---
  await page.fill('#create-name', 'photos');
  await page.fill('#create-tags', 'color');
  await page.fill('#create-desc', 'console test <b>not bold</b>');
  await page.click('#create-submit');
  const photosRow = page.locator('#instance-table tr[data-instance="photos"]');
  await photosRow.waitFor();
  check(await page.inputValue('#current-instance') === 'photos', 'the new instance is the current one');

  // --- add images: the file picker (red), then a drop of several files (blue) ---
  await page.click('[data-tab="images"]');
  await page.fill('#upload-tags', 'color=red');
  await page.setInputFiles('#upload-input', spec.red);
  await page.locator('#upload-summary').filter({ hasText: `${spec.red.length} of ${spec.red.length} added` }).waitFor();
  await page.fill('#upload-tags', 'color=blue');
  const files = spec.blue.map((f) => ({ name: path.basename(f), b64: fs.readFileSync(f).toString('base64') }));
  files.push({ name: 'notes.txt', b64: Buffer.from('not an image').toString('base64') });
  const dt = await page.evaluateHandle((list) => {
    const d = new DataTransfer();
    for (const f of list) {
      const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
      d.items.add(new File([bytes], f.name, { type: f.name.endsWith('.jpg') ? 'image/jpeg' : 'text/plain' }));
    }
    return d;
  }, files);
  await page.dispatchEvent('#drop-zone', 'drop', { dataTransfer: dt });
  const nb = spec.blue.length;
  await page.locator('#upload-summary').filter({ hasText: `${nb} of ${nb + 1} added to photos, 1 failed` }).waitFor();
  seen.upload_summary = await page.textContent('#upload-summary');
  seen.upload_failure = await page.textContent('#upload-results li.bad');
  check(/notes\.txt: IS\.\d{4} /.test(seen.upload_failure), `the failed file shows its IS code (${seen.upload_failure})`);
  seen.upload_ok = await page.locator('#upload-results li.ok').count();
  await page.click('[data-tab="instances"]');
  const total = spec.red.length + nb;
  await photosRow.locator('td.images').filter({ hasText: String(total) }).waitFor();
  await photosRow.locator('button.inspect').click();
  await page.locator('#details-list dd[data-key="vectors"]').filter({ hasText: String(total) }).waitFor();
  seen.details_desc = await page.textContent('#details-list dd[data-key="description"]');
  check(await page.locator('#instance-details b').count() === 0, 'a description is shown as text, not HTML');
  await shot('instances.png');

  // --- search with a crop box drawn on the query ---
  await page.click('[data-tab="search"]');
  await page.setInputFiles('#query-input', spec.query);
  await page.locator('#crop-info').filter({ hasText: 'Whole image' }).waitFor();
  const c = await page.locator('#crop-canvas').boundingBox();
  await page.mouse.move(c.x + c.width * 0.15, c.y + c.height * 0.15);
  await page.mouse.down();
  await page.mouse.move(c.x + c.width * 0.5, c.y + c.height * 0.5, { steps: 5 });
  await page.mouse.move(c.x + c.width * 0.85, c.y + c.height * 0.85, { steps: 5 });
  await page.mouse.up();
  seen.crop_info = await page.textContent('#crop-info');
  const m = /Box: x (\d+), y (\d+), (\d+) × (\d+) px of (\d+) × (\d+)/.exec(seen.crop_info);
  check(m, `a box was drawn (${seen.crop_info})`);
  await page.click('#search-submit');
  await page.locator('#results-summary').filter({ hasText: 'cropped query' }).waitFor();
  seen.search_summary = await page.textContent('#results-summary');
  seen.top = await page.textContent('#results .hit:first-child .path');
  seen.top_sim = await page.textContent('#results .hit:first-child .sim');
  seen.hits = await page.locator('#results .hit').count();
  check(seen.top === spec.query_name, `the top result is ${spec.query_name} (got ${seen.top})`);
  check(/^sim \d\.\d{3}$/.test(seen.top_sim), `the top result shows its score (${seen.top_sim})`);
  check(seen.hits === total, `every image is a hit (${seen.hits})`);
  check(searches.length === 1 && searches[0].file, 'the search sent the query image');
  const sent = jpegSize(Buffer.from(searches[0].file, 'base64'));
  const [bw, bh] = [Number(m[3]), Number(m[4])];
  seen.sent_size = sent;
  check(sent && Math.abs(sent.w - bw) <= 1 && Math.abs(sent.h - bh) <= 1,
        `the cropped region was sent (${JSON.stringify(sent)} for a ${bw}x${bh} box)`);
  await shot('search.png');

  // --- a tag filter narrows the grid ---
  await page.fill('#search-tags', 'color=blue');
  await page.click('#search-submit');
  await page.locator('#results-summary').filter({ hasText: 'tags color=blue' }).waitFor();
  seen.filtered_hits = await page.locator('#results .hit').count();
  seen.filtered_tags = await page.locator('#results .hit .tags').allTextContents();
  check(seen.filtered_hits === nb, `the filter leaves the ${nb} blue images (${seen.filtered_hits})`);
  check(seen.filtered_tags.every((t) => t === 'color=blue'), 'every hit is blue');
  check(searches[1] && searches[1].tags && searches[1].tags.color === 'blue', 'the filter was sent');
  await page.fill('#search-tags', '');

  // --- an import job of a server-side folder, followed to its end ---
  await page.click('[data-tab="jobs"]');
  await page.fill('#job-source', spec.import_source);
  await page.click('#job-submit');
  const jobRow = page.locator('#job-table tbody tr[data-instance="photos"]');
  await jobRow.waitFor();
  seen.job_first_state = await jobRow.getAttribute('data-state');
  const doneRow = '#job-table tbody tr[data-instance="photos"][data-state="done"]';
  await page.locator(doneRow).waitFor({ timeout: 60000 });
  seen.job_progress = await page.textContent(`${doneRow} .progress-text`);
  check(seen.job_progress.startsWith(`${spec.import_count} done`), `the job imported ${spec.import_count} (${seen.job_progress})`);
  seen.job_bar = await page.evaluate((sel) => {
    const p = document.querySelector(`${sel} progress`);
    return [p.value, p.max];
  }, doneRow);
  check(seen.job_bar[0] === seen.job_bar[1], `the bar is full (${seen.job_bar})`);
  await shot('import-progress.png');
  // a sync job of the same folder: paused, resumed and cancelled from its row
  await page.selectOption('#job-mode', 'sync');
  await page.click('#job-submit');
  const syncRow = '#job-table tbody tr[data-instance="photos"][data-mode="sync"]';
  await page.locator(`${syncRow}[data-state="running"] button.pause`).click();
  await page.locator(`${syncRow}[data-state="paused"] button.resume`).click();
  await page.locator(`${syncRow}[data-state="running"] button.cancel`).click();
  await page.locator(`${syncRow}[data-state="cancelled"]`).waitFor();
  seen.sync_states = 'running paused running cancelled';

  // --- metrics ---
  await page.click('[data-tab="metrics"]');
  await page.locator('#metrics-list dd[data-metric="images"]').waitFor();
  seen.metric_images = await page.textContent('#metrics-list dd[data-metric="images"]');
  seen.metric_requests = Number(await page.textContent('#metrics-list dd[data-metric="requests answered"]'));
  seen.metric_routes = await page.locator('#metrics-routes tbody tr').count();
  await shot('metrics.png');

  // --- the instance the CLI filled, searched from the console ---
  await page.click('[data-tab="instances"]');
  await page.locator(`#instance-table tr[data-instance="${spec.cli_instance}"]`).waitFor();
  await page.selectOption('#current-instance', spec.cli_instance);
  await page.click('[data-tab="search"]');
  await page.setInputFiles('#query-input', spec.cli_query);
  await page.locator('#crop-info').filter({ hasText: 'Whole image' }).waitFor();
  await page.click('#search-submit');
  await page.locator('#results-summary').filter({ hasText: /^\d+ results?$/ }).waitFor();
  seen.cli_top = await page.textContent('#results .hit:first-child .path');
  check(seen.cli_top.endsWith(spec.cli_expect), `the CLI's import is searchable (${seen.cli_top})`);

  // --- delete the instance (confirmed), sign out ---
  await page.click('[data-tab="instances"]');
  await photosRow.locator('button.delete').click();
  await photosRow.waitFor({ state: 'detached' });
  check(seen.dialog && seen.dialog.includes('photos'), 'deleting asks first');
  await page.click('#sign-out');
  await page.locator('#signin-form').waitFor();
  check(await page.evaluate(() => sessionStorage.getItem('imagesearch.session')) === null, 'sign-out forgets the token');
  check(problems.length === 0, `no errors in the page: ${problems.join('; ')}`);
} catch (e) {
  process.stderr.write(`${e.stack || e}\nseen: ${JSON.stringify(seen)}\nproblems: ${problems.join('; ')}\n`);
  await browser.close();
  process.exit(1);
}
await browser.close();
process.stdout.write(JSON.stringify(seen));
