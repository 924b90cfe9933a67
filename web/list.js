/*
 * devmail web page, the list side: tags (sidebar with counts, colours,
 * add/remove/rename on one or many messages), bulk actions (shift-click
 * ranges, "select all N matching"), release to a real address, and
 * staying informed (browser notifications, unread badge in the favicon,
 * light/dark/system theme, one clear button in the search box).
 * Loaded after app.js (defer) and wired through its hooks; every string
 * from the API goes into the DOM with textContent or an attribute.
 *
 * DOM contract for browser tests (added by this file):
 *   #tag-sidebar > #tag-list > li > button.tag-filter[data-tag=NAME]
 *       (.active when the list is filtered by it; .tag-count = messages)
 *       button.tag-rename[data-tag]  button.tag-remove[data-tag]
 *     button.tag-filter[data-tag=""] shows every message
 *   .tag[data-tag] chips (list rows, view) with --tag-h: their hue
 *   #view-tags (open message): .tag chips with button.tag-chip-remove,
 *     #view-tag-input + #view-tag-add
 *   #tag-btn (toolbar) opens #tag-dialog: #tag-dialog-input, #tag-dialog-add,
 *     #tag-dialog-remove, #tag-dialog-cancel, #tag-dialog-target (what it acts on)
 *   #name-dialog (rename a tag): #name-dialog-input  #name-dialog-ok  #name-dialog-cancel
 *   #select-matching (bar): #select-matching-text, #select-matching-btn
 *       ("select all N matching"), #select-matching-clear
 *   #release-btn (view head) opens #release-dialog: #release-allowed
 *     (allow-list text), #release-to (input), #release-send, #release-close,
 *     #release-result[data-state=ok|error]
 *   #notify-toggle[aria-pressed]  #theme-select (system|light|dark)
 *   html[data-theme=light|dark] when not following the system
 *   link#favicon: /favicon.svg, or a PNG data URL with the unread badge
 */
(() => {     // a scope of its own: the page's other scripts share the global one
'use strict';

const LIST_TAGS_REFRESH_MS = 250;
const THEME_KEY = 'devmail.theme';
const NOTIFY_KEY = 'devmail.notify';

const bulk = {
  all: false,          // "all N matching" chosen: act on the search, not the ids
  anchor: -1,          // row index of the last checkbox click (shift ranges)
};
let knownTags = [];    // [{name, count}]
let relayInfo = null;  // /api/v1/webui's MessageRelay

/* ---- tags ----------------------------------------------------------------- */

// A stable hue from the name (FNV-1a), so a tag keeps its colour everywhere.
function tagHue(name) {
  let h = 0x811c9dc5;
  for (const ch of String(name).toLowerCase()) {
    h ^= ch.codePointAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % 360;
}

function tagChip(name) {
  const c = el('span', 'tag', name);
  c.dataset.tag = name;
  c.style.setProperty('--tag-h', String(tagHue(name)));
  return c;
}

function tagQuery(name) {
  return `tag:"${name}"`;
}

let tagsTimer = 0;
function scheduleTags() {
  clearTimeout(tagsTimer);
  tagsTimer = setTimeout(loadTags, LIST_TAGS_REFRESH_MS);
}

// Tag names and counts: /api/v1/info's Tags ({name: count}, Mailpit's shape).
async function loadTags() {
  try {
    const info = await (await api('GET', '/api/v1/info')).json();
    knownTags = Object.entries(info.Tags || {}).map(([name, count]) => ({ name, count }))
      .sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }));
    renderTags();
  } catch (err) {
    setStatus(err.message);
  }
}

function activeTag() {
  const m = /^tag:"([^"]*)"$/.exec(state.query);
  return m ? m[1] : (/^tag:(\S+)$/.exec(state.query) || [])[1] ?? null;
}

function renderTags() {
  const ul = $('#tag-list');
  const active = activeTag();
  const items = [];
  const all = el('li');
  const allBtn = el('button', 'tag-filter', 'All messages');
  allBtn.type = 'button';
  allBtn.dataset.tag = '';
  allBtn.classList.toggle('active', !state.query);
  all.append(allBtn);
  items.push(all);
  for (const t of knownTags) {
    const li = el('li');
    const b = el('button', 'tag-filter');
    b.type = 'button';
    b.dataset.tag = t.name;
    b.append(tagChip(t.name), el('span', 'tag-count', t.count));
    b.setAttribute('aria-label', `Show messages tagged ${t.name} (${t.count})`);
    b.classList.toggle('active', active !== null && active.toLowerCase() === t.name.toLowerCase());
    b.setAttribute('aria-pressed', String(b.classList.contains('active')));
    const ren = el('button', 'tag-rename', '\u270e');
    ren.type = 'button';
    ren.dataset.tag = t.name;
    ren.title = `Rename tag ${t.name}`;
    ren.setAttribute('aria-label', ren.title);
    const del = el('button', 'tag-remove', '\u00d7');
    del.type = 'button';
    del.dataset.tag = t.name;
    del.title = `Remove tag ${t.name} from every message`;
    del.setAttribute('aria-label', del.title);
    li.append(b, ren, del);
    items.push(li);
  }
  // a refresh must not take focus away from the button the user is on
  const had = ul.contains(document.activeElement) ? document.activeElement : null;
  ul.replaceChildren(...items);
  if (had) {
    const again = [...ul.querySelectorAll('button')].find((x) =>
      x.classList[0] === had.classList[0] && x.dataset.tag === had.dataset.tag);
    (again || ul.querySelector('.tag-filter')).focus();
  }
  $('#tag-empty').hidden = knownTags.length > 0;
  const dl = $('#tag-names');
  dl.replaceChildren(...knownTags.map((t) => { const o = el('option'); o.value = t.name; return o; }));
}

function filterByTag(name) {
  const q = name ? tagQuery(name) : '';
  $('#search').value = q;
  syncClear();
  search(q);
}

function nameDialog(title, value) {
  const d = $('#name-dialog');
  $('#name-dialog-title').textContent = title;
  const input = $('#name-dialog-input');
  input.value = value;
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok' ? input.value.trim() : null), { once: true });
    d.returnValue = '';
    d.showModal();
    input.select();
  });
}

async function renameTag(name) {
  const to = await nameDialog(`Rename tag “${name}”`, name);
  if (!to || to === name) return;
  try {
    await api('PUT', `/api/v1/tags/${enc(name)}`, { Name: to });
    if (activeTag() === name) filterByTag(to); else await loadList();
    await loadTags();
    if (state.open) openMessage(state.open.ID);
  } catch (err) {
    setStatus(err.message);
  }
}

async function dropTag(name) {
  if (!(await confirmDialog(`Remove the tag “${name}” from every message?`, 'Remove tag'))) return;
  try {
    await api('DELETE', `/api/v1/tags/${enc(name)}`);
    if (activeTag() === name) filterByTag(''); else await loadList();
    await loadTags();
    if (state.open) openMessage(state.open.ID);
  } catch (err) {
    setStatus(err.message);
  }
}

// What a bulk action acts on: {Search} for "all matching", else {IDs}.
function bulkTarget() {
  if (bulk.all) return state.query ? { Search: state.query } : {};
  return { IDs: targetIds() };
}

function bulkTargetText() {
  if (bulk.all) return state.query ? `all ${state.count} messages matching “${state.query}”` : `all ${state.total} messages`;
  const n = targetIds().length;
  if (!state.selected.size && state.open) return 'the open message';
  return `${n} message${n === 1 ? '' : 's'}`;
}

async function editTags(target, add, remove) {
  const body = Object.assign({}, target);
  if (add.length) body.Add = add;
  if (remove.length) body.Remove = remove;
  if (!body.Add && !body.Remove) return;
  if (body.IDs && !body.IDs.length) return;
  await api('PUT', '/api/v1/tags', body);
  // the server's "update" frames change the rows; refresh what they cannot
  scheduleTags();
  if (state.open && (!body.IDs || body.IDs.includes(state.open.ID))) {
    const m = await (await api('GET', messagePath(state.open.ID))).json();
    if (state.open && state.open.ID === m.ID) { state.open.Tags = m.Tags; renderViewTags(state.open); }
  }
  if (activeTag() !== null) scheduleRefresh();
}

function splitNames(text) {
  return String(text).split(',').map((s) => s.trim()).filter(Boolean);
}

async function tagDialog() {
  if (!bulk.all && !targetIds().length) { setStatus('Select messages to tag first.'); return; }
  const d = $('#tag-dialog');
  $('#tag-dialog-target').textContent = `Tags for ${bulkTargetText()}`;
  $('#tag-dialog-input').value = '';
  const target = bulkTarget();
  d.returnValue = '';
  d.showModal();
  const how = await new Promise((resolve) => d.addEventListener('close', () => resolve(d.returnValue), { once: true }));
  const names = splitNames($('#tag-dialog-input').value);
  if (!names.length || (how !== 'add' && how !== 'remove')) return;
  try {
    await editTags(target, how === 'add' ? names : [], how === 'remove' ? names : []);
  } catch (err) {
    setStatus(err.message);
  }
}

function renderViewTags(m) {
  const box = $('#view-tags');
  const chips = $('#view-tag-chips');
  chips.replaceChildren();
  for (const t of m.Tags || []) {
    const c = tagChip(t);
    const x = el('button', 'tag-chip-remove', '\u00d7');
    x.type = 'button';
    x.dataset.tag = t;
    x.title = `Remove tag ${t}`;
    x.setAttribute('aria-label', x.title);
    c.append(x);
    chips.append(c);
  }
  box.hidden = false;
}

/* ---- bulk selection ---------------------------------------------------------- */

function renderSelectBar() {
  const bar = $('#select-matching');
  const shown = state.messages.length;
  const pageAll = shown > 0 && state.selected.size === shown;
  if (!pageAll) bulk.all = false;
  const total = state.query ? state.count : state.total;
  const more = total > shown;
  bar.hidden = !pageAll || !more;
  if (bar.hidden) return;
  const what = state.query ? `matching “${state.query}”` : 'in the mailbox';
  if (bulk.all) {
    $('#select-matching-text').textContent = `All ${total} messages ${what} are selected.`;
    $('#select-matching-btn').hidden = true;
    $('#select-matching-clear').hidden = false;
  } else {
    $('#select-matching-text').textContent = `All ${shown} on this page are selected.`;
    $('#select-matching-btn').textContent = `Select all ${total} ${what}`;
    $('#select-matching-btn').hidden = false;
    $('#select-matching-clear').hidden = true;
  }
}

function setRowSelected(i, on) {
  const m = state.messages[i];
  if (!m) return;
  if (on) state.selected.add(m.ID); else state.selected.delete(m.ID);
  const row = rowOf(m.ID);
  if (row) {
    row.classList.toggle('selected', on);
    row.querySelector('.row-check').checked = on;
  }
}

// After app.js's own click handler (it toggled the clicked box): with
// Shift, every row between the last clicked box and this one follows.
function onRangeClick(e) {
  const cb = e.target.closest('.row-check');
  if (!cb) return;
  const row = cb.closest('.message-row');
  const i = [...row.parentNode.children].indexOf(row);
  if (e.shiftKey && bulk.anchor >= 0 && bulk.anchor !== i) {
    const [a, b] = bulk.anchor < i ? [bulk.anchor, i] : [i, bulk.anchor];
    for (let k = a; k <= b; k++) setRowSelected(k, cb.checked);
    renderCounts();
  }
  bulk.anchor = i;
  renderSelectBar();
}

async function bulkRead(read) {
  try {
    const t = bulkTarget();
    await api('PUT', '/api/v1/messages', Object.assign({ Read: read }, t));
    if (t.IDs) for (const id of t.IDs) applyUpdate({ ID: id, Read: read });
    else await loadList();
  } catch (err) {
    setStatus(err.message);
  }
}

async function bulkDelete() {
  const what = bulkTargetText();
  if (!(await confirmDialog(`Delete ${what}?`))) return;
  try {
    if (state.query) await api('DELETE', `/api/v1/search?query=${enc(state.query)}`);
    else await api('DELETE', '/api/v1/messages', {});
    bulk.all = false;
    state.selected.clear();
    closeView();
    state.start = 0;
    await loadList();
  } catch (err) {
    setStatus(err.message);
  }
}

// While "all matching" is chosen, the toolbar buttons and keys act on the
// search (caught before app.js's handlers, which act on the ids).
function onToolbarCapture(e) {
  if (!bulk.all) return;
  const b = e.target.closest('#mark-read-btn, #mark-unread-btn, #delete-btn');
  if (!b) return;
  e.stopPropagation();
  e.preventDefault();
  if (b.id === 'delete-btn') bulkDelete();
  else bulkRead(b.id === 'mark-read-btn');
}

function onKeyCapture(e) {
  if (!bulk.all || e.ctrlKey || e.metaKey || e.altKey || document.querySelector('dialog[open]')) return;
  if (e.target.closest('input, textarea, select, [contenteditable]')) return;
  const f = { Delete: bulkDelete, '#': bulkDelete, r: () => bulkRead(true), u: () => bulkRead(false) }[e.key];
  if (!f) return;
  e.stopPropagation();
  e.preventDefault();
  f();
}

/* ---- release ------------------------------------------------------------------ */

async function loadRelay() {
  try {
    relayInfo = (await (await api('GET', '/api/v1/webui')).json()).MessageRelay || { Enabled: false };
  } catch (err) {
    relayInfo = { Enabled: false };
  }
  return relayInfo;
}

async function releaseDialog() {
  const m = state.open;
  if (!m) return;
  const d = $('#release-dialog');
  const r = relayInfo || (await loadRelay());
  const result = $('#release-result');
  result.hidden = true;
  delete result.dataset.state;
  $('#release-subject').textContent = m.Subject || '(no subject)';
  const allowed = $('#release-allowed');
  if (!r.Enabled) {
    allowed.textContent = 'Release is off: devmail sends nothing on until relay_host is set (README: Release).';
  } else if (!r.AllowedRecipients) {
    allowed.textContent = `Relay ${r.SMTPServer}. No address is allowed yet: set relay_allowed_recipients.`;
  } else {
    allowed.textContent = `Relay ${r.SMTPServer}. Allowed recipients: ${r.AllowedRecipients}`;
  }
  const to = $('#release-to');
  to.value = listText(m.To, (a) => a.Address);
  to.disabled = !r.Enabled;
  $('#release-send').disabled = !r.Enabled;
  d.showModal();
  if (r.Enabled) to.focus();
}

async function releaseSend(e) {
  e.preventDefault();
  const m = state.open;
  const result = $('#release-result');
  const to = splitNames($('#release-to').value);
  if (!m || !to.length) return;
  const send = $('#release-send');
  send.disabled = true;
  result.hidden = false;
  result.dataset.state = 'sending';
  result.textContent = 'Sending…';
  try {
    const r = await fetch(`${messagePath(m.ID)}/release`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ To: to }),
    });
    const text = (await r.text()).slice(0, 500);
    result.dataset.state = r.ok ? 'ok' : 'error';
    result.textContent = r.ok ? `Released to ${to.join(', ')}.` : `Not released: ${text}`;
  } catch (err) {
    result.dataset.state = 'error';
    result.textContent = `Not released: ${err.message}`;
  } finally {
    send.disabled = false;
  }
}

/* ---- staying informed ------------------------------------------------------------ */

function notifyOn() {
  return localStorage.getItem(NOTIFY_KEY) === '1' && 'Notification' in window && Notification.permission === 'granted';
}

function renderNotify() {
  const b = $('#notify-toggle');
  const on = notifyOn();
  b.setAttribute('aria-pressed', String(on));
  b.textContent = on ? 'Notifications on' : 'Notifications off';
  if (!('Notification' in window)) { b.disabled = true; b.title = 'This browser has no notifications'; }
  else if (Notification.permission === 'denied') b.title = 'Notifications are blocked for this page in the browser';
  else b.title = 'Notify me of new mail while the page is in the background';
}

async function toggleNotify() {
  if (notifyOn()) {
    localStorage.removeItem(NOTIFY_KEY);
  } else if ('Notification' in window) {
    const p = Notification.permission === 'granted' ? 'granted' : await Notification.requestPermission();
    if (p === 'granted') localStorage.setItem(NOTIFY_KEY, '1');
    else setStatus('The browser did not allow notifications.');
  }
  renderNotify();
}

function notifyNew(m) {
  if (!notifyOn() || (document.visibilityState === 'visible' && document.hasFocus())) return;
  const n = new Notification(m.Subject || '(no subject)', {
    body: `From ${addrShort(m.From) || '(no sender)'}`, tag: `devmail-${m.ID}`, icon: '/favicon.svg',
  });
  n.onclick = () => { window.focus(); openMessage(m.ID); };
}

let faviconImg = null;
let badgeShown = -1;

function drawBadge() {
  const n = state.unread;
  if (n === badgeShown) return;
  badgeShown = n;
  const link = $('#favicon');
  if (!n) { link.href = '/favicon.svg'; return; }
  const paint = () => {
    if (badgeShown !== n) return;
    const c = document.createElement('canvas');
    c.width = c.height = 64;
    const g = c.getContext('2d');
    g.drawImage(faviconImg, 0, 0, 64, 64);
    g.fillStyle = '#d92d20';
    g.beginPath();
    g.arc(44, 20, 20, 0, 2 * Math.PI);
    g.fill();
    g.fillStyle = '#ffffff';
    g.font = `bold ${n > 99 ? 20 : 28}px sans-serif`;
    g.textAlign = 'center';
    g.textBaseline = 'middle';
    g.fillText(n > 99 ? '99+' : String(n), 44, 21);
    link.href = c.toDataURL('image/png');
    link.dataset.unread = String(n);
  };
  if (!faviconImg) {
    faviconImg = new Image();
    faviconImg.onload = paint;
    faviconImg.src = '/favicon.svg';
  } else if (faviconImg.complete) {
    paint();
  } else {
    faviconImg.addEventListener('load', paint, { once: true });
  }
}

function applyTheme(theme) {
  const root = document.documentElement;
  if (theme === 'light' || theme === 'dark') root.dataset.theme = theme;
  else delete root.dataset.theme;
  $('meta[name="color-scheme"]').content = theme === 'light' || theme === 'dark' ? theme : 'light dark';
}

function syncClear() {
  $('#search-clear').hidden = !$('#search').value;
}

/* ---- wiring ------------------------------------------------------------------------ */

// An element with attributes (and `text`) and children; attribute values
// are set with setAttribute, so nothing is parsed as HTML.
function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'text') e.textContent = v;
    else if (k === 'hidden') e.hidden = !!v;
    else e.setAttribute(k, v);
  }
  e.append(...kids);
  return e;
}

function buildDialogs() {
  document.body.append(
    h('dialog', { id: 'tag-dialog', 'aria-labelledby': 'tag-dialog-target' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'tag-dialog-target' }),
        h('label', { for: 'tag-dialog-input', text: 'Tags (comma separated)' }),
        h('input', { id: 'tag-dialog-input', list: 'tag-names', autocomplete: 'off' }),
        h('button', { id: 'tag-dialog-cancel', value: 'cancel', text: 'Cancel' }),
        h('button', { id: 'tag-dialog-remove', value: 'remove', text: 'Remove' }),
        h('button', { id: 'tag-dialog-add', value: 'add', class: 'primary', text: 'Add' }))),
    h('dialog', { id: 'name-dialog', 'aria-labelledby': 'name-dialog-title' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'name-dialog-title' }),
        h('input', { id: 'name-dialog-input', autocomplete: 'off', 'aria-label': 'New name' }),
        h('button', { id: 'name-dialog-cancel', value: 'cancel', text: 'Cancel' }),
        h('button', { id: 'name-dialog-ok', value: 'ok', class: 'primary', text: 'Rename' }))),
    h('dialog', { id: 'release-dialog', 'aria-labelledby': 'release-title' },
      h('form', { id: 'release-form' },
        h('h2', { id: 'release-title', text: 'Release message' }),
        h('p', { id: 'release-subject' }),
        h('p', { id: 'release-allowed' }),
        h('label', { for: 'release-to', text: 'To (comma separated)' }),
        h('input', { id: 'release-to', type: 'text', autocomplete: 'off' }),
        h('p', { id: 'release-result', role: 'status', hidden: true }),
        h('button', { id: 'release-close', type: 'button', text: 'Close' }),
        h('button', { id: 'release-send', type: 'submit', class: 'primary', text: 'Release' }))));
}

function buildDom() {
  buildDialogs();
  const icon = document.querySelector('link[rel="icon"]');
  icon.id = 'favicon';
  // the sidebar
  const side = el('nav');
  side.id = 'tag-sidebar';
  side.setAttribute('aria-label', 'Tags');
  side.tabIndex = -1;   // the drawer can take focus before its list is filled
  const h = el('h2', null, 'Tags');
  const ul = el('ul');
  ul.id = 'tag-list';
  const empty = el('p', null, 'No tags yet.');
  empty.id = 'tag-empty';
  const dl = el('datalist');
  dl.id = 'tag-names';
  side.append(h, ul, empty, dl);
  $('#layout').prepend(side);

  // phones: the sidebar is a drawer, opened from the toolbar
  const tt = el('button', null, 'Tags');
  tt.id = 'tags-toggle';
  tt.type = 'button';
  tt.title = 'Show the tags';
  tt.setAttribute('aria-controls', 'tag-sidebar');
  tt.setAttribute('aria-expanded', 'false');
  $('#select-all').after(tt);

  // toolbar: Tag…, and the "select all matching" bar under it
  const tagBtn = el('button', null, 'Tag\u2026');
  tagBtn.id = 'tag-btn';
  tagBtn.type = 'button';
  tagBtn.title = 'Add or remove tags on the selected messages (t)';
  $('#delete-btn').before(tagBtn);
  const bar = el('div');
  bar.id = 'select-matching';
  bar.hidden = true;
  const bt = el('span');
  bt.id = 'select-matching-text';
  const bb = el('button');
  bb.id = 'select-matching-btn';
  bb.type = 'button';
  const bc = el('button', null, 'Clear selection');
  bc.id = 'select-matching-clear';
  bc.type = 'button';
  bar.append(bt, bb, bc);
  $('#toolbar').after(bar);

  // top bar: notifications and theme
  const nb = el('button');
  nb.id = 'notify-toggle';
  nb.type = 'button';
  const sel = el('select');
  sel.id = 'theme-select';
  sel.setAttribute('aria-label', 'Theme');
  sel.title = 'Theme (remembered in this browser)';
  for (const [v, t] of [['system', 'Theme: system'], ['light', 'Theme: light'], ['dark', 'Theme: dark']]) {
    const o = el('option', null, t);
    o.value = v;
    sel.append(o);
  }
  $('#ws-status').before(nb, sel);

  // view: tags of the open message, release button
  const vt = el('div');
  vt.id = 'view-tags';
  vt.hidden = true;
  const chips = el('span');
  chips.id = 'view-tag-chips';
  const form = el('form');
  form.id = 'view-tag-form';
  const input = el('input');
  input.id = 'view-tag-input';
  input.setAttribute('list', 'tag-names');
  input.placeholder = 'Add tag';
  input.setAttribute('aria-label', 'Add a tag to this message');
  input.autocomplete = 'off';
  const add = el('button', null, 'Add');
  add.id = 'view-tag-add';
  add.type = 'submit';
  form.append(input, add);
  vt.append(chips, form);
  $('#view-meta').after(vt);
  const rel = el('button', null, 'Release\u2026');
  rel.id = 'release-btn';
  rel.type = 'button';
  rel.title = 'Send this message on to a real address';
  $('#view-delete-btn').before(rel);
}

// The tag drawer of the phone layout (#tags-toggle shows only there).
function setDrawer(open) {
  const side = $('#tag-sidebar');
  side.classList.toggle('open', open);
  $('#tags-toggle').setAttribute('aria-expanded', String(open));
  if (open) (side.querySelector('.tag-filter') || side).focus();
}

function wire() {
  $('#tags-toggle').addEventListener('click', () => setDrawer(!$('#tag-sidebar').classList.contains('open')));
  $('#tag-sidebar').addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || !$('#tag-sidebar').classList.contains('open')) return;
    e.stopPropagation();
    setDrawer(false);
    $('#tags-toggle').focus();
  });
  $('#tag-list').addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    if (b.classList.contains('tag-filter')) {
      const t = b.dataset.tag;
      filterByTag(t && activeTag() !== null && activeTag().toLowerCase() === t.toLowerCase() ? '' : t);
      if ($('#tag-sidebar').classList.contains('open')) setDrawer(false);
    } else if (b.classList.contains('tag-rename')) {
      renameTag(b.dataset.tag);
    } else if (b.classList.contains('tag-remove')) {
      dropTag(b.dataset.tag);
    }
  });
  $('#tag-btn').addEventListener('click', tagDialog);
  $('#view-tag-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const names = splitNames($('#view-tag-input').value);
    if (!state.open || !names.length) return;
    try {
      await editTags({ IDs: [state.open.ID] }, names, []);
      $('#view-tag-input').value = '';
    } catch (err) {
      setStatus(err.message);
    }
  });
  $('#view-tag-chips').addEventListener('click', async (e) => {
    const x = e.target.closest('.tag-chip-remove');
    if (!x || !state.open) return;
    try {
      await editTags({ IDs: [state.open.ID] }, [], [x.dataset.tag]);
    } catch (err) {
      setStatus(err.message);
    }
  });
  $('#message-list').addEventListener('click', onRangeClick);
  $('#toolbar').addEventListener('click', onToolbarCapture, true);
  document.addEventListener('keydown', onKeyCapture, true);
  document.addEventListener('keydown', (e) => { if (e.key === 'x') renderSelectBar(); });   // after app.js's x
  $('#select-all').addEventListener('change', () => { bulk.anchor = -1; });
  $('#select-matching-btn').addEventListener('click', () => { bulk.all = true; renderSelectBar(); });
  $('#select-matching-clear').addEventListener('click', () => {
    bulk.all = false;
    state.selected.clear();
    renderList();
  });
  $('#release-btn').addEventListener('click', releaseDialog);
  $('#release-form').addEventListener('submit', releaseSend);
  $('#release-close').addEventListener('click', () => $('#release-dialog').close());
  $('#notify-toggle').addEventListener('click', toggleNotify);
  const sel = $('#theme-select');
  sel.value = localStorage.getItem(THEME_KEY) || 'system';
  sel.addEventListener('change', () => {
    if (sel.value === 'system') localStorage.removeItem(THEME_KEY);
    else localStorage.setItem(THEME_KEY, sel.value);
    applyTheme(sel.value);
  });
  $('#search').addEventListener('input', syncClear);
  $('#search-clear').addEventListener('click', () => { syncClear(); $('#search').focus(); });
  // the title is app.js's unread count; the favicon follows it
  new MutationObserver(drawBadge).observe($('title'), { childList: true, characterData: true, subtree: true });
}

applyTheme(localStorage.getItem(THEME_KEY) || 'system');   // before first paint where possible

hooks.init.push(() => {
  buildDom();
  wire();
  renderNotify();
  syncClear();
  loadTags();
  loadRelay();
  drawBadge();
});
hooks.row.push((li, m) => {
  for (const t of li.querySelectorAll('.row-mid .tag')) {
    t.dataset.tag = t.textContent;
    t.style.setProperty('--tag-h', String(tagHue(t.textContent)));
  }
});
hooks.list.push(() => {
  renderSelectBar();
  renderTags();
  drawBadge();
});
hooks.view.push((m) => renderViewTags(m));
hooks.close.push(() => { $('#view-tags').hidden = true; });
hooks.event.push((f) => {
  if (f.Type === 'new' && f.Data) notifyNew(f.Data);
  if (f.Type === 'update' && f.Data && Array.isArray(f.Data.Tags) && state.open && state.open.ID === f.Data.ID) {
    state.open.Tags = f.Data.Tags;
    renderViewTags(state.open);
  }
  if (['new', 'update', 'delete', 'prune', 'truncate'].includes(f.Type)) scheduleTags();
});
hooks.keys.t = tagDialog;
})();
