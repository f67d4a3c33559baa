// Search: a query image drawn on a canvas, a crop box the user drags on it (the cropped
// region, at the image's own resolution, is what is sent as `file`), an optional tag
// filter (`tags`), and the hits as a grid: path, `sim`, tags, and the image itself when
// its path is an http(s) URL the browser can load.
import { call, instancePath, parseTags, base64 } from './api.js';
import { $, el, clear, status, tagsText } from './dom.js';
import { currentInstance } from './instances.js';

const MIN_SIDE = 100;   // the server's smallest image side
const MAX_SIDE = 2048;  // and its largest
let image = null;       // the decoded query (ImageBitmap or HTMLImageElement)
let scale = 1;          // canvas px per image px
let box = null;         // {x, y, w, h} in image px
let drag = null;

function draw() {
  const c = $('#crop-canvas');
  const g = c.getContext('2d');
  g.clearRect(0, 0, c.width, c.height);
  if (!image) return;
  g.drawImage(image, 0, 0, c.width, c.height);
  if (box) {
    g.fillStyle = 'rgba(0,0,0,0.45)';
    const [x, y, w, h] = [box.x * scale, box.y * scale, box.w * scale, box.h * scale];
    g.fillRect(0, 0, c.width, y);
    g.fillRect(0, y + h, c.width, c.height - y - h);
    g.fillRect(0, y, x, h);
    g.fillRect(x + w, y, c.width - x - w, h);
    g.strokeStyle = '#ffd400';
    g.lineWidth = 2;
    g.strokeRect(x, y, w, h);
  }
  $('#crop-info').textContent = box
    ? `Box: x ${box.x}, y ${box.y}, ${box.w} × ${box.h} px of ${image.width} × ${image.height}`
    : `Whole image: ${image.width} × ${image.height} px`;
}

async function load(file) {
  try {
    image = await createImageBitmap(file);
  } catch {
    status(`${file.name}: not an image the browser can decode`, true);
    return;
  }
  const c = $('#crop-canvas');
  scale = Math.min(1, 480 / image.width, 480 / image.height);
  c.width = Math.max(1, Math.round(image.width * scale));
  c.height = Math.max(1, Math.round(image.height * scale));
  box = null;
  draw();
}

function point(ev) {
  const c = $('#crop-canvas');
  const r = c.getBoundingClientRect();
  const px = ((ev.clientX - r.left) * c.width) / r.width / scale;
  const py = ((ev.clientY - r.top) * c.height) / r.height / scale;
  return { x: Math.max(0, Math.min(image.width, px)), y: Math.max(0, Math.min(image.height, py)) };
}

// The region to send: the box (or the whole image), resized into the server's size range.
async function queryBlob() {
  const b = box || { x: 0, y: 0, w: image.width, h: image.height };
  let k = 1;
  if (Math.min(b.w, b.h) < MIN_SIDE) k = MIN_SIDE / Math.min(b.w, b.h);
  if (Math.max(b.w, b.h) * k > MAX_SIDE) k = MAX_SIDE / Math.max(b.w, b.h);
  const c = document.createElement('canvas');
  c.width = Math.max(MIN_SIDE, Math.round(b.w * k));
  c.height = Math.max(MIN_SIDE, Math.round(b.h * k));
  c.getContext('2d').drawImage(image, b.x, b.y, b.w, b.h, 0, 0, c.width, c.height);
  return new Promise((resolve) => c.toBlob(resolve, 'image/jpeg', 0.95));
}

function hit(h) {
  const isUrl = /^https?:\/\//i.test(h.path);
  const picture = isUrl
    ? el('img', { src: h.path, alt: h.path, loading: 'lazy', referrerpolicy: 'no-referrer' })
    : el('div', { class: 'placeholder', text: 'no preview' });
  return el('div', { class: 'hit', dataset: { path: h.path } },
    picture,
    el('div', { class: 'path', text: h.path }),
    h.sim !== undefined ? el('div', { class: 'sim', text: `sim ${Number(h.sim).toFixed(3)}` }) : null,
    el('div', { class: 'tags', text: tagsText(h.tags) }));
}

async function run() {
  const summary = $('#results-summary');
  const grid = clear($('#results'));
  summary.textContent = '';
  const instance = currentInstance();
  if (!instance) { status('Create or choose an instance first', true); return; }
  const body = { limit: Number($('#search-limit').value) || 10 };
  try {
    const tags = parseTags($('#search-tags').value);
    if (tags) body.tags = tags;
  } catch (e) {
    status(String(e), true);
    return;
  }
  if (image) body.file = await base64(await queryBlob());
  if (!body.file && !body.tags) { status('Choose a query image or a tag filter', true); return; }
  summary.textContent = 'Searching…';
  try {
    const out = await call('POST', `${instancePath(instance)}/image/search`, body);
    const hits = out.result || [];
    summary.textContent = `${hits.length} result${hits.length === 1 ? '' : 's'}` +
      (body.tags ? ` (tags ${tagsText(body.tags)})` : '') + (box ? ', cropped query' : '');
    for (const h of hits) grid.append(hit(h));
  } catch (e) {
    summary.textContent = `Search failed: ${e}`;
  }
}

export function init() {
  const c = $('#crop-canvas');
  $('#query-input').addEventListener('change', (ev) => {
    if (ev.target.files[0]) load(ev.target.files[0]);
  });
  c.addEventListener('dragover', (ev) => ev.preventDefault());
  c.addEventListener('drop', (ev) => {
    ev.preventDefault();
    if (ev.dataTransfer?.files?.[0]) load(ev.dataTransfer.files[0]);
  });
  c.addEventListener('pointerdown', (ev) => {
    if (!image) return;
    c.setPointerCapture(ev.pointerId);
    drag = point(ev);
    box = null;
  });
  c.addEventListener('pointermove', (ev) => {
    if (!drag) return;
    const p = point(ev);
    const x = Math.round(Math.min(p.x, drag.x));
    const y = Math.round(Math.min(p.y, drag.y));
    const w = Math.round(Math.abs(p.x - drag.x));
    const h = Math.round(Math.abs(p.y - drag.y));
    box = w >= 8 && h >= 8 ? { x, y, w, h } : null;
    draw();
  });
  const end = () => { drag = null; };
  c.addEventListener('pointerup', end);
  c.addEventListener('pointercancel', end);
  $('#clear-box').addEventListener('click', () => { box = null; draw(); });
  $('#search-submit').addEventListener('click', run);
}
