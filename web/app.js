/*
 * devmail web page: message list, live updates, search, message view.
 * Plain JavaScript, no build step; talks to the Mailpit-v1-compatible
 * API on the same origin. Every string from the API is put into the DOM
 * with textContent or an attribute setter, never as HTML. Mail HTML is
 * only ever shown inside <iframe id="html-frame"> loaded from
 * /view/{ID}.html, sandboxed without allow-scripts or allow-same-origin
 * (no scripts, opaque origin, server-side CSP); allow-popups plus
 * allow-popups-to-escape-sandbox only let a click on a target=_blank link
 * in the mail open that link in a new tab, as a normal page.
 *
 * DOM contract for browser tests (stable ids / classes / attributes):
 *   #search (input, Enter searches, empty = all)   #search-clear
 *   #ws-status[data-state=connecting|live|offline]
 *   #message-list[role=grid] > li.message-row[role=row][data-id=ID][id=row-ID]
 *       (.unread when unread, .current = keyboard cursor, named by the list's
 *       aria-activedescendant, .open = shown in the view, .fresh = just arrived)
 *     .row-check-cell > .row-check (checkbox); .row-main (gridcell) > .from  .to
 *     .subject  .time[title=ISO date]
 *     .size  .attach-mark (present only with attachments)  .snippet
 *   #select-all  #mark-read-btn  #mark-unread-btn  #delete-btn  #delete-all-btn
 *   #counts (text "N messages, M unread")  #list-empty
 *   #pager: #prev-page  #next-page  #page-info
 *   #status (error text, hidden when none)
 *   #message-view[data-id=ID] (hidden when no message is open)
 *     #view-subject  #view-meta (dt/dd pairs)  #back-btn  #view-delete-btn
 *     #tab-bar > #tabs[role=tablist] > .tab[data-tab=html|text|headers|raw] (.active,
 *       aria-controls), then #download-raw; .tab-panel[data-panel=...]
 *     #html-frame (src /view/{ID}.html, ?remote=1 after #remote-images-btn)
 *     #remote-bar (shown only when the HTML refers to remote images)  #text-view  #headers-view  #raw-view  #download-raw
 *     #attachments > #attachment-list > li > a.attachment-link[data-part-id]
 *     #inline-images > img.inline-image[data-part-id]
 *   (web/view.js adds the preview bar, the source and check tabs, downloads,
 *   print and copy buttons: see its contract)
 *   #confirm-dialog (delete all): #confirm-yes  #confirm-no
 *   #setup-btn opens #setup-dialog: #setup-address (input; reloads the settings
 *     for that address)  #setup-table > tbody > tr[data-protocol=IMAP|POP3|SMTP]
 *     (th, then host, port, security, user name, authentication)  #setup-password
 *     #setup-status  #setup-text (the text of /client-setup, in #setup-plain)
 *     #setup-mobileconfig  #setup-ca  #setup-autoconfig (each hidden when not available)  #setup-close
 *   Performance marks: devmail:list-rendered (each list render),
 *     devmail:view-rendered (detail: the ID; each message shown).
 *   body.viewing while a message is open (phone layout shows only the view);
 *   body[data-loading] while the list loads.
 * Keys: j/ArrowDown, k/ArrowUp move; Enter/o open; x select; Delete/# delete;
 *   / focus search; Escape close; h/l newer/older page; r/u read/unread.
 * Location hash "#<ID>" opens that message on load and when the hash changes.
 */
'use strict';

const PAGE_SIZE = 50;
const WS_BACKOFF_MIN_MS = 500;
const WS_BACKOFF_MAX_MS = 30000;
const SEARCH_REFRESH_MS = 300;

const $ = (sel) => document.querySelector(sel);
const enc = encodeURIComponent;

// Extension points for the other scripts of the page (web/*.js, loaded
// after this one with defer; init() runs on DOMContentLoaded, after all
// of them). Each list holds functions called in order:
//   view(m)      after the message view shows message m (full JSON)
//   close()      after the view is closed
//   list()       after the list (state.messages) is rendered again
//   row(li, m)   for every list row as it is built
//   event(f)     for every live event frame {Type, Data}
//   init()       once, at the end of init()
//   viewUrl(q)   adds query parameters (URLSearchParams q) to the frame's /view/{ID}.html
// tabs[name](m, panel) loads a tab panel of the open message (a
// .tab[data-tab=name] with a .tab-panel[data-panel=name]); keys[key]() adds
// a keyboard shortcut.
const hooks = { view: [], close: [], list: [], row: [], event: [], init: [], viewUrl: [], tabs: {}, keys: {} };
function runHooks(name, ...args) {
  for (const f of hooks[name]) {
    try { f(...args); } catch (err) { console.error(err); setStatus(err.message); }
  }
}

const state = {
  start: 0,
  query: '',
  messages: [],      // summaries on this page
  count: 0,          // messages (or matches) in total, for paging
  total: 0,          // all messages
  unread: 0,
  cursor: -1,
  selected: new Set(),
  open: null,        // full message being viewed
  tab: 'html',
  loaded: {},        // lazily fetched panels of the open message
  remote: false,
  loadSeq: 0,
};

/* ---- helpers ---------------------------------------------------------- */

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function addrText(a) {
  if (!a) return '';
  return a.Name ? `${a.Name} <${a.Address}>` : (a.Address || '');
}

function addrShort(a) {
  return a ? (a.Name || a.Address || '') : '';
}

function listText(list, fmt) {
  return (list || []).map(fmt).filter(Boolean).join(', ');
}

function fmtSize(n) {
  n = Number(n) || 0;
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} kB`;
  return `${(n / 1048576).toFixed(1)} MB`;
}

function fmtRelative(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  const s = Math.round((Date.now() - t) / 1000);
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  if (s < 7 * 86400) return `${Math.round(s / 86400)} d ago`;
  return new Date(t).toLocaleDateString();
}

function setStatus(text) {
  const s = $('#status');
  s.textContent = text || '';
  s.hidden = !text;
}

async function api(method, path, body) {
  const opts = { method, headers: {} };
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  if (!r.ok) {
    const t = (await r.text().catch(() => '')).slice(0, 200);
    throw new Error(`${method} ${path}: ${r.status} ${t}`.trim());
  }
  return r;
}

function messagePath(id) {
  return `/api/v1/message/${enc(id)}`;
}

/* ---- list --------------------------------------------------------------- */

async function loadList() {
  const seq = ++state.loadSeq;
  const q = state.query;
  const path = q
    ? `/api/v1/search?query=${enc(q)}&start=${state.start}&limit=${PAGE_SIZE}`
    : `/api/v1/messages?start=${state.start}&limit=${PAGE_SIZE}`;
  document.body.dataset.loading = '1';
  try {
    const data = await (await api('GET', path)).json();
    if (seq !== state.loadSeq) return;            // a newer load superseded this one
    state.messages = data.messages || [];
    state.count = data.messages_count ?? data.total ?? state.messages.length;
    state.total = data.total ?? state.count;
    state.unread = data.unread ?? 0;
    if (state.messages.length === 0 && state.start > 0 && state.count > 0) {
      state.start = Math.max(0, Math.floor((state.count - 1) / PAGE_SIZE) * PAGE_SIZE);
      return loadList();
    }
    const ids = new Set(state.messages.map((m) => m.ID));
    for (const id of state.selected) if (!ids.has(id)) state.selected.delete(id);
    state.cursor = Math.min(state.cursor, state.messages.length - 1);
    setStatus('');
    renderList();
  } catch (err) {
    if (seq === state.loadSeq) setStatus(err.message);
  } finally {
    if (seq === state.loadSeq) delete document.body.dataset.loading;
  }
}

function renderRow(m) {
  const li = el('li', 'message-row');
  li.dataset.id = m.ID;
  li.id = `row-${m.ID}`;                 // the grid's aria-activedescendant
  li.setAttribute('role', 'row');
  if (!m.Read) li.classList.add('unread');
  if (state.selected.has(m.ID)) li.classList.add('selected');
  if (state.open && state.open.ID === m.ID) li.classList.add('open');

  const cb = el('input', 'row-check');
  cb.type = 'checkbox';
  cb.checked = state.selected.has(m.ID);
  cb.setAttribute('aria-label', `Select: ${m.Subject || '(no subject)'}`);
  const cell = el('span', 'row-check-cell');
  cell.setAttribute('role', 'gridcell');
  cell.append(cb);
  li.append(cell);

  const main = el('div', 'row-main');
  main.setAttribute('role', 'gridcell');
  const top = el('div', 'row-top');
  top.append(el('span', 'from', addrShort(m.From) || '(no sender)'));
  const time = el('span', 'time', fmtRelative(m.Created));
  time.title = m.Created ? new Date(m.Created).toLocaleString() : '';
  time.dataset.created = m.Created || '';
  top.append(time);
  main.append(top);
  main.append(el('div', 'to', 'To: ' + listText([].concat(m.To || [], m.Cc || []), addrShort)));
  const mid = el('div', 'row-mid');
  mid.append(el('span', 'subject', m.Subject || '(no subject)'));
  if (m.Attachments > 0) {
    const a = el('span', 'attach-mark');
    a.title = `${m.Attachments} attachment(s)`;
    a.setAttribute('aria-label', a.title);
    mid.append(a);
  }
  for (const t of m.Tags || []) mid.append(el('span', 'tag', t));
  mid.append(el('span', 'size', fmtSize(m.Size)));
  main.append(mid);
  if (m.Snippet) main.append(el('div', 'snippet', m.Snippet));
  li.append(main);
  runHooks('row', li, m);
  return li;
}

function renderList() {
  const ul = $('#message-list');
  ul.replaceChildren(...state.messages.map(renderRow));
  $('#list-empty').hidden = state.messages.length > 0;
  if (state.cursor >= 0) markCursor(false);
  renderCounts();
  performance.mark('devmail:list-rendered');   // bench/web_bench.py times the page by it
  runHooks('list');
}

function renderCounts() {
  const shown = state.messages.length;
  const from = shown ? state.start + 1 : 0;
  $('#page-info').textContent = `${from}\u2013${state.start + shown} of ${state.count}`;
  $('#prev-page').disabled = state.start === 0;
  $('#next-page').disabled = state.start + shown >= state.count;
  const matches = state.query ? `${state.count} matching, ` : '';
  $('#counts').textContent = `${matches}${state.total} messages, ${state.unread} unread`;
  document.title = state.unread ? `(${state.unread}) devmail` : 'devmail';
  const all = $('#select-all');
  all.checked = shown > 0 && state.selected.size === shown;
  all.indeterminate = state.selected.size > 0 && state.selected.size < shown;
}

function rowOf(id) {
  return $(`#message-list .message-row[data-id="${CSS.escape(id)}"]`);
}

function markCursor(scroll = true) {
  const ul = $('#message-list');
  const rows = ul.children;
  for (const r of rows) r.classList.remove('current');
  const r = rows[state.cursor];
  if (!r) return ul.removeAttribute('aria-activedescendant');
  r.classList.add('current');
  ul.setAttribute('aria-activedescendant', r.id);   // screen readers read the cursor row
  if (scroll) r.scrollIntoView({ block: 'nearest' });
}

async function moveCursor(delta) {
  let i = state.cursor + delta;
  if (i >= state.messages.length && state.start + state.messages.length < state.count) {
    state.start += PAGE_SIZE;
    state.cursor = 0;
    await loadList();
    i = 0;
  } else if (i < 0 && state.start > 0) {
    state.start = Math.max(0, state.start - PAGE_SIZE);
    await loadList();
    i = state.messages.length - 1;
  }
  state.cursor = Math.max(0, Math.min(i, state.messages.length - 1));
  markCursor();
}

function gotoPage(delta) {
  const next = state.start + delta * PAGE_SIZE;
  if (next < 0 || (delta > 0 && next >= state.count)) return;
  state.start = next;
  state.cursor = -1;
  state.selected.clear();
  loadList();
}

function targetIds() {
  if (state.selected.size) return [...state.selected];
  if (state.open) return [state.open.ID];
  const m = state.messages[state.cursor];
  return m ? [m.ID] : [];
}

async function setRead(ids, read) {
  if (!ids.length) return;
  try {
    await api('PUT', '/api/v1/messages', { IDs: ids, Read: read });
    for (const id of ids) applyUpdate({ ID: id, Read: read });
  } catch (err) {
    setStatus(err.message);
  }
}

async function deleteIds(ids) {
  if (!ids.length) return;
  try {
    await api('DELETE', '/api/v1/messages', { IDs: ids });
    ids.forEach((id) => state.selected.delete(id));
    if (state.open && ids.includes(state.open.ID)) closeView();
    await loadList();
  } catch (err) {
    setStatus(err.message);
  }
}

// "Connect a mail client": the settings of GET /client-setup.json as a
// table (one row per listener), the password hint, the downloads (the
// Apple profile for the typed address, the local CA when there is one) and
// the server's own text (GET /client-setup) under a <details>.
const SETUP_TITLES = { IMAP: 'Incoming (IMAP)', POP3: 'Incoming (POP3)', SMTP: 'Outgoing (SMTP)' };
let setupSeq = 0;

async function loadSetup() {
  const addr = $('#setup-address').value.trim();
  const q = addr ? `?emailaddress=${enc(addr)}` : '';
  const status = $('#setup-status');
  status.textContent = 'Loading…';
  const seq = ++setupSeq;
  try {
    const [rj, rt] = await Promise.all([fetch(`/client-setup.json${q}`), fetch(`/client-setup${q}`)]);
    if (!rj.ok) throw new Error((await rj.text()).trim() || String(rj.status));
    const s = await rj.json();
    const text = rt.ok ? await rt.text() : '';
    if (seq !== setupSeq) return;           // a newer address was typed meanwhile
    const body = $('#setup-table tbody');
    body.replaceChildren();
    for (const v of s.Servers || []) {
      const tr = el('tr');
      tr.append(el('th', null, SETUP_TITLES[v.Protocol] || v.Protocol), el('td', 'host', v.Host), el('td', 'num', v.Port),
        el('td', null, v.Security), el('td', null, v.UserName || '(none)'), el('td', null, v.Authentication));
      tr.firstChild.scope = 'row';
      tr.dataset.protocol = v.Protocol;
      body.append(tr);
    }
    $('#setup-password').textContent = `Password: ${s.Password}`;
    const dl = s.Downloads || {};
    for (const [sel, url] of [['#setup-mobileconfig', dl.Mobileconfig], ['#setup-ca', dl.CACertificate],
      ['#setup-autoconfig', dl.Autoconfig]]) {
      $(sel).hidden = !url;                 // null: not available with this configuration
      if (url) $(sel).href = url;
    }
    $('#setup-text').textContent = text;
    status.textContent = s.Address && !s.AddressServed ? `${s.Address} is not in a served domain` : '';
  } catch (err) {
    if (seq === setupSeq) status.textContent = `Could not load the settings: ${err.message}`;
  }
}

async function showSetup() {
  $('#setup-dialog').showModal();
  await loadSetup();
}

function confirmDialog(text, yes = 'Delete') {
  const d = $('#confirm-dialog');
  $('#confirm-text').textContent = text;
  $('#confirm-yes').textContent = yes;
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'yes'), { once: true });
    d.returnValue = '';
    d.showModal();
  });
}

async function deleteAll() {
  const what = state.query ? `all ${state.count} messages matching “${state.query}”` : `all ${state.total} messages`;
  if (!(await confirmDialog(`Delete ${what}?`))) return;
  try {
    if (state.query) await api('DELETE', `/api/v1/search?query=${enc(state.query)}`);
    else await api('DELETE', '/api/v1/messages', {});
    state.selected.clear();
    closeView();
    state.start = 0;
    await loadList();
  } catch (err) {
    setStatus(err.message);
  }
}

/* ---- live events -------------------------------------------------------- */

let searchRefreshTimer = 0;

function scheduleRefresh() {
  clearTimeout(searchRefreshTimer);
  searchRefreshTimer = setTimeout(loadList, SEARCH_REFRESH_MS);
}

function applyNew(m) {
  state.total++;
  state.unread += m.Read ? 0 : 1;
  if (state.query) {
    if (state.start === 0) scheduleRefresh();   // only the server knows if it matches
    else renderCounts();
    return;
  }
  state.count++;
  if (state.start !== 0 || state.messages.some((x) => x.ID === m.ID)) return renderCounts();
  state.messages.unshift(m);
  if (state.messages.length > PAGE_SIZE) state.messages.pop();
  if (state.cursor >= 0) state.cursor++;
  const li = renderRow(m);
  li.classList.add('fresh');
  const ul = $('#message-list');
  ul.prepend(li);
  while (ul.children.length > PAGE_SIZE) ul.lastElementChild.remove();
  $('#list-empty').hidden = true;
  renderCounts();
}

function applyUpdate(d) {
  const ids = d.IDs || (d.ID ? [d.ID] : []);
  for (const id of ids) {
    const m = state.messages.find((x) => x.ID === id);
    if (m && typeof d.Read === 'boolean' && m.Read !== d.Read) {
      m.Read = d.Read;
      state.unread += d.Read ? -1 : 1;
    }
    if (m && Array.isArray(d.Tags)) m.Tags = d.Tags;
    const row = rowOf(id);
    if (m && row) row.replaceWith(renderRow(m));
  }
  if (state.cursor >= 0) markCursor(false);
  renderCounts();
}

function applyDelete(d) {
  const ids = d.IDs || (d.ID ? [d.ID] : []);
  if (state.open && ids.includes(state.open.ID)) closeView();
  if (ids.some((id) => state.messages.some((m) => m.ID === id))) scheduleRefresh();
}

function onEvent(ev) {
  let f;
  try { f = JSON.parse(ev.data); } catch { return; }
  const d = f.Data || {};
  runHooks('event', f);
  switch (f.Type) {
    case 'new': applyNew(d); break;
    case 'update': applyUpdate(d); break;
    case 'delete': applyDelete(d); break;
    case 'stats':
      if (typeof d.Total === 'number') state.total = d.Total;
      if (typeof d.Unread === 'number') state.unread = d.Unread;
      if (!state.query && typeof d.Total === 'number') state.count = d.Total;
      renderCounts();
      break;
    case 'truncate':
    case 'prune':
      if (f.Type === 'truncate') closeView();
      state.start = 0;
      loadList();
      break;
  }
}

function connectEvents() {
  let delay = WS_BACKOFF_MIN_MS;
  let everOpen = false;
  const status = $('#ws-status');
  const setWs = (s) => { status.dataset.state = s; status.textContent = s; };
  const connect = () => {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/api/events`);
    ws.onopen = () => {
      delay = WS_BACKOFF_MIN_MS;
      setWs('live');
      if (everOpen) loadList();                 // catch up on what was missed
      everOpen = true;
    };
    ws.onmessage = onEvent;
    ws.onclose = () => {
      setWs('offline');
      setTimeout(connect, delay + Math.random() * delay / 2);
      delay = Math.min(delay * 2, WS_BACKOFF_MAX_MS);
    };
    ws.onerror = () => ws.close();
  };
  connect();
}

/* ---- message view -------------------------------------------------------- */

// Does the mail's HTML refer to images or backgrounds on other hosts
// (absolute or protocol-relative URLs)? Only then is the remote bar shown.
const REMOTE_REF_RE = /(?:\b(?:src|background|poster)\s*=\s*["']?\s*|\bsrcset\s*=\s*["'][^"']*?|url\(\s*["']?\s*)(?:https?:)?\/\//i;

function hasRemoteContent(html) {
  return REMOTE_REF_RE.test(html || '');
}

function viewUrl(id) {
  const q = new URLSearchParams();
  if (state.remote) q.set('remote', '1');
  runHooks('viewUrl', q);
  const s = q.toString();
  return `/view/${enc(id)}.html${s ? `?${s}` : ''}`;
}

async function openMessage(id) {
  try {
    const m = await (await api('GET', messagePath(id))).json();
    state.open = m;
    state.loaded = {};
    state.remote = false;
    renderView(m);
    history.replaceState(null, '', `#${enc(m.ID)}`);
    const i = state.messages.findIndex((x) => x.ID === m.ID);
    if (i >= 0) { state.cursor = i; markCursor(); }
    for (const r of document.querySelectorAll('#message-list .message-row.open')) r.classList.remove('open');
    const row = rowOf(m.ID);
    if (row) row.classList.add('open');
    const s = state.messages.find((x) => x.ID === m.ID);
    if (s && !s.Read) applyUpdate({ ID: m.ID, Read: true });  // fetching marks it read
  } catch (err) {
    setStatus(err.message);
  }
}

function renderView(m) {
  const v = $('#message-view');
  v.dataset.id = m.ID;
  v.hidden = false;
  document.body.classList.add('viewing');
  $('#view-subject').textContent = m.Subject || '(no subject)';

  const meta = $('#view-meta');
  meta.replaceChildren();
  const add = (k, val) => {
    if (!val) return;
    meta.append(el('dt', null, k), el('dd', null, val));
  };
  add('From', addrText(m.From));
  add('To', listText(m.To, addrText));
  add('Cc', listText(m.Cc, addrText));
  add('Bcc', listText(m.Bcc, addrText));
  add('Reply-To', listText(m.ReplyTo, addrText));
  add('Return-Path', m.ReturnPath);
  add('Date', m.Date ? new Date(m.Date).toLocaleString() : '');
  add('Size', fmtSize(m.Size));
  add('Tags', (m.Tags || []).join(', '));

  $('#download-raw').href = `${messagePath(m.ID)}/raw`;
  $('#download-raw').setAttribute('download', `${m.ID}.eml`);
  $('#text-view').textContent = m.Text || '';
  $('#tab-html').hidden = !m.HTML;
  renderAttachments(m);
  showTab(m.HTML ? 'html' : 'text');
  performance.mark('devmail:view-rendered', { detail: m.ID });
  runHooks('view', m);
}

function partLink(m, p) {
  return `${messagePath(m.ID)}/part/${enc(p.PartID)}`;
}

function renderAttachments(m) {
  const list = $('#attachment-list');
  const inl = $('#inline-images');
  list.replaceChildren();
  inl.replaceChildren();
  for (const p of m.Attachments || []) {
    const li = el('li');
    const a = el('a', 'attachment-link', p.FileName || p.PartID);
    a.href = partLink(m, p);
    a.setAttribute('download', p.FileName || `part-${p.PartID}`);
    a.dataset.partId = p.PartID;
    li.append(a, el('span', 'part-info', ` ${p.ContentType || ''} \u00b7 ${fmtSize(p.Size)}`));
    list.append(li);
  }
  for (const p of m.Inline || []) {
    if (!/^image\//i.test(p.ContentType || '')) continue;
    const img = el('img', 'inline-image');
    img.src = partLink(m, p);
    img.alt = p.FileName || p.ContentID || 'inline image';
    img.title = img.alt;
    img.loading = 'lazy';
    img.dataset.partId = p.PartID;
    inl.append(img);
  }
  $('#attachments-title').textContent = list.children.length ? 'Attachments' : 'Inline images';
  $('#attachments').hidden = !list.children.length && !inl.children.length;
}

async function showTab(name) {
  const m = state.open;
  if (!m) return;
  state.tab = name;
  for (const t of document.querySelectorAll('#tabs .tab')) {
    t.classList.toggle('active', t.dataset.tab === name);
    t.setAttribute('aria-selected', String(t.dataset.tab === name));
    t.tabIndex = t.dataset.tab === name ? 0 : -1;    // one tab stop for the tablist (WAI-ARIA tabs)
    const p = document.querySelector(`#message-view .tab-panel[data-panel="${CSS.escape(t.dataset.tab)}"]`);
    if (p) {                            // tab and panel name each other for screen readers
      t.id = t.id || `tab-${t.dataset.tab}`;
      p.id = p.id || `panel-${t.dataset.tab}`;
      t.setAttribute('aria-controls', p.id);
      p.setAttribute('aria-labelledby', t.id);
    }
  }
  for (const p of document.querySelectorAll('#message-view .tab-panel')) p.hidden = p.dataset.panel !== name;
  const frame = $('#html-frame');
  if (name === 'html') {
    const want = new URL(viewUrl(m.ID), location.href).href;
    if (frame.src !== want) frame.src = want;
    $('#remote-bar').hidden = state.remote || !hasRemoteContent(m.HTML);
  } else if (frame.src !== 'about:blank' && !m.HTML) {
    frame.src = 'about:blank';
  }
  try {
    if (name === 'headers' && !state.loaded.headers) {
      state.loaded.headers = true;
      const h = await (await api('GET', `${messagePath(m.ID)}/headers`)).json();
      if (state.open !== m) return;
      const body = $('#headers-view tbody');
      body.replaceChildren();
      for (const [k, vals] of Object.entries(h)) {
        for (const val of [].concat(vals)) {
          const tr = el('tr');
          tr.append(el('th', null, k), el('td', null, val));
          body.append(tr);
        }
      }
    } else if (name === 'raw' && !state.loaded.raw) {
      state.loaded.raw = true;
      const t = await (await api('GET', `${messagePath(m.ID)}/raw`)).text();
      if (state.open === m) $('#raw-view').textContent = t;
    } else if (hooks.tabs[name] && !state.loaded[name]) {
      state.loaded[name] = true;
      await hooks.tabs[name](m, document.querySelector(`#message-view .tab-panel[data-panel="${CSS.escape(name)}"]`));
    }
  } catch (err) {
    state.loaded[name] = false;
    setStatus(err.message);
  }
}

function closeView() {
  state.open = null;
  const v = $('#message-view');
  v.hidden = true;
  delete v.dataset.id;
  $('#html-frame').src = 'about:blank';
  document.body.classList.remove('viewing');
  for (const r of document.querySelectorAll('#message-list .message-row.open')) r.classList.remove('open');
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  runHooks('close');
}

/* ---- wiring -------------------------------------------------------------- */

function search(q) {
  state.query = q.trim();
  state.start = 0;
  state.cursor = -1;
  state.selected.clear();
  loadList();
}

function onListClick(e) {
  const row = e.target.closest('.message-row');
  if (!row) return;
  const id = row.dataset.id;
  if (e.target.classList.contains('row-check')) {
    if (e.target.checked) state.selected.add(id); else state.selected.delete(id);
    row.classList.toggle('selected', e.target.checked);
    renderCounts();
    return;
  }
  state.cursor = [...row.parentNode.children].indexOf(row);
  markCursor(false);
  openMessage(id);
}

function toggleSelect() {
  const m = state.messages[state.cursor];
  if (!m) return;
  if (state.selected.has(m.ID)) state.selected.delete(m.ID); else state.selected.add(m.ID);
  const row = rowOf(m.ID);
  if (row) {
    row.classList.toggle('selected', state.selected.has(m.ID));
    row.querySelector('.row-check').checked = state.selected.has(m.ID);
  }
  renderCounts();
}

// The tablist as WAI-ARIA's tabs pattern: Left/Right move to the previous
// or next tab (wrapping), Home/End to the first or last, selecting it.
function onTabKey(e) {
  const tabs = [...document.querySelectorAll('#tabs .tab')].filter((t) => !t.hidden && !t.disabled);
  const i = tabs.indexOf(e.target.closest('.tab'));
  if (i < 0 || e.ctrlKey || e.metaKey || e.altKey) return;
  const n = tabs.length;
  const to = { ArrowRight: (i + 1) % n, ArrowLeft: (i - 1 + n) % n, Home: 0, End: n - 1 }[e.key];
  if (to === undefined) return;
  e.preventDefault();
  e.stopPropagation();
  tabs[to].focus();
  showTab(tabs[to].dataset.tab);
}

function onKey(e) {
  if (e.ctrlKey || e.metaKey || e.altKey || document.querySelector('dialog[open]')) return;
  const typing = e.target.closest('input, textarea, select, [contenteditable]');
  if (typing) {
    if (e.key === 'Escape' && e.target.id === 'search') e.target.blur();
    return;
  }
  const cur = state.messages[state.cursor];
  const keys = {
    j: () => moveCursor(1), ArrowDown: () => moveCursor(1),
    k: () => moveCursor(-1), ArrowUp: () => moveCursor(-1),
    Enter: () => cur && openMessage(cur.ID), o: () => cur && openMessage(cur.ID),
    x: toggleSelect,
    Delete: () => deleteIds(targetIds()), '#': () => deleteIds(targetIds()),
    '/': () => $('#search').focus(),
    Escape: closeView,
    h: () => gotoPage(-1), l: () => gotoPage(1),
    r: () => setRead(targetIds(), true), u: () => setRead(targetIds(), false),
  };
  const f = keys[e.key] || hooks.keys[e.key];
  if (!f || (e.target.closest('button, a') && e.key === 'Enter')) return;
  e.preventDefault();
  f();
}

function init() {
  $('#search-form').addEventListener('submit', (e) => { e.preventDefault(); search($('#search').value); });
  $('#search').addEventListener('search', () => { if (!$('#search').value) search(''); });
  $('#search-clear').addEventListener('click', () => { $('#search').value = ''; search(''); });
  $('#message-list').addEventListener('click', onListClick);
  $('#select-all').addEventListener('change', (e) => {
    state.selected = new Set(e.target.checked ? state.messages.map((m) => m.ID) : []);
    renderList();
  });
  $('#mark-read-btn').addEventListener('click', () => setRead(targetIds(), true));
  $('#mark-unread-btn').addEventListener('click', () => setRead(targetIds(), false));
  $('#delete-btn').addEventListener('click', () => deleteIds(targetIds()));
  $('#view-delete-btn').addEventListener('click', () => state.open && deleteIds([state.open.ID]));
  $('#delete-all-btn').addEventListener('click', deleteAll);
  $('#setup-btn').addEventListener('click', showSetup);
  $('#setup-address').addEventListener('change', loadSetup);
  $('#setup-address').addEventListener('keydown', (e) => {   // Enter must not submit (close) the dialog
    if (e.key === 'Enter') { e.preventDefault(); loadSetup(); }
  });
  $('#prev-page').addEventListener('click', () => gotoPage(-1));
  $('#next-page').addEventListener('click', () => gotoPage(1));
  $('#back-btn').addEventListener('click', closeView);
  $('#tabs').addEventListener('keydown', onTabKey);
  $('#tabs').addEventListener('click', (e) => {
    const t = e.target.closest('.tab[data-tab]');
    if (t) showTab(t.dataset.tab);
  });
  $('#remote-images-btn').addEventListener('click', () => {
    state.remote = true;
    showTab('html');
  });
  document.addEventListener('keydown', onKey);
  setInterval(() => {
    for (const t of document.querySelectorAll('#message-list .time')) t.textContent = fmtRelative(t.dataset.created);
  }, 30000);

  loadList();
  connectEvents();
  openFromHash();
  window.addEventListener('hashchange', openFromHash);   // a pasted /#ID link in an open tab
  runHooks('init');
}

function openFromHash() {
  let id = '';
  try { id = decodeURIComponent(location.hash.slice(1)); } catch { return; }
  if (id && (!state.open || state.open.ID !== id)) openMessage(id);
}

document.addEventListener('DOMContentLoaded', init);
