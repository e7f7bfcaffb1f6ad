// File upload widgets ([data-upload]) on the staff Task page and the portal: each chosen file is sent
// as the raw body of one request (XMLHttpRequest, for its upload progress events), its name in
// X-Filename; the server checks kind, size and count and answers the stored file or an error naming
// the Field. Listeners are delegated from `document`, so widgets the Task page's live refresh
// re-renders keep working. Staff requests carry the page's CSRF token, portal ones its form token.
import { el } from '../lib/dom.js';
import { parseBody } from '../lib/api.js';

const csrf = () => document.querySelector('meta[name="csrf-token"]')?.content || '';

function headersFor(box) {
  const h = { Accept: 'application/json' };
  if (box.dataset.formToken) h['X-Form-Token'] = box.dataset.formToken;
  else h['X-CSRFToken'] = csrf();
  return h;
}

function say(box, text, isError = false) {
  const msg = box.querySelector('[data-upload-msg]');
  if (!msg) return;
  msg.textContent = text;
  msg.classList.toggle('err', isError);
}

// send(box, file, onProgress) -> Promise of the stored file's JSON; rejects with a plain message
function send(box, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', box.dataset.url);
    for (const [k, v] of Object.entries({ ...headersFor(box), 'X-Filename': encodeURIComponent(file.name) })) {
      xhr.setRequestHeader(k, v);
    }
    xhr.upload.addEventListener('progress', (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); });
    xhr.addEventListener('load', () => {
      const data = parseBody(xhr.responseText);
      if (xhr.status === 201 && data) resolve(data);
      else reject(new Error(data?.error?.message || `${file.name}: the upload failed (HTTP ${xhr.status}).`));
    });
    xhr.addEventListener('error', () => reject(new Error(`${file.name}: the upload was interrupted.`)));
    xhr.send(file);
  });
}

function addToList(box, f) {
  const list = box.querySelector('[data-file-list]');
  if (!list) return;
  list.querySelector('[data-empty]')?.remove();
  const kb = (f.size / 1024).toFixed(1);
  list.append(el('li', { dataset: { file: String(f.id) } }, f.name, ' ', el('span', { class: 'muted' }, `${kb} KB`),
    f.review_status ? el('span', { class: 'badge' }, ' waiting for review') : null));
}

async function upload(box, files) {
  box.dataset.busy = '1';   // the Task page's live refresh leaves the widget alone meanwhile
  const bar = box.querySelector('[data-upload-progress]');
  const max = Number(box.dataset.maxBytes || 0);
  for (const file of files) {
    if (max && file.size > max) {   // the server refuses it too; this saves sending it
      say(box, `${box.dataset.field}: ${file.name} is larger than ${Math.round(max / 1048576)} MB.`, true);
      continue;
    }
    bar.hidden = false;
    bar.value = 0;
    say(box, `Uploading ${file.name}…`);
    try {
      const stored = await send(box, file, (share) => { bar.value = Math.round(share * 100); });
      bar.value = 100;
      addToList(box, stored);
      say(box, `${stored.name} uploaded.`);
    } catch (err) {
      say(box, err.message, true);
    }
  }
  bar.hidden = true;
  delete box.dataset.busy;
}

async function call(box, method, url, body) {
  const res = await fetch(url, { method, credentials: 'same-origin',
    headers: { ...headersFor(box), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined });
  const data = parseBody(await res.text());
  if (!res.ok) throw new Error(data?.error?.message || `HTTP ${res.status}`);
  return data;
}

document.addEventListener('change', (e) => {
  const input = e.target.closest?.('[data-upload-input]');
  if (!input) return;
  const box = input.closest('[data-upload]');
  upload(box, [...input.files]).finally(() => { input.value = ''; });
});

document.addEventListener('click', async (e) => {
  const btn = e.target.closest?.('[data-remove], [data-review]');
  const box = btn?.closest('[data-upload]');
  if (!box) return;
  try {
    if (btn.dataset.remove) {
      await call(box, 'DELETE', box.dataset.removeUrl.replace(/0$/, btn.dataset.remove));
      btn.closest('li').remove();
      say(box, 'File removed.');
    } else {
      const url = box.dataset.reviewUrl.replace(/0\/review$/, `${btn.dataset.fileId}/review`);
      const f = await call(box, 'POST', url, { status: btn.dataset.review });
      const badge = btn.closest('li').querySelector('.badge');
      if (badge) badge.textContent = f.review_status;
      say(box, `${f.name}: ${f.review_status}.`);
    }
  } catch (err) {
    say(box, err.message, true);
  }
});
