/*
 * devmail web page: attachments as people expect them (issue 12, item 5).
 * Loaded after app.js; works through its hooks (view, close) and globals
 * (api, el, $, messagePath, fmtSize, setStatus, state, addrText, listText).
 * Every string from the API goes into the DOM with textContent or an
 * attribute; an attached message's HTML is only shown in a frame from
 * /view/{ID}/part/{PartID}.html, sandboxed as #html-frame is.
 *
 * DOM contract (in addition to app.js's):
 *   #attachment-list > li.attachment[data-kind=image|pdf|calendar|message|
 *       archive|audio|video|text|document|file][data-part-id]
 *     svg.attach-icon (inline, per kind) or img.attach-thumb (images:
 *       /api/v1/message/{ID}/part/{PartID}/thumb)
 *     a.attachment-link[data-part-id][download] (text: the file name)
 *     .attach-size  .part-info (content type)
 *     button.attach-preview (images, PDFs)  button.attach-open-message
 *       (message/rfc822)
 *     .calendar-card (text/calendar, .ics: from .../part/{PartID}/calendar)
 *       .cal-method[data-method]  .cal-title  .cal-time[data-start][data-end]
 *       .cal-tz  .cal-location  .cal-organizer  .cal-attendees  .cal-recurring
 *   #attach-preview (inline PDF view): #attach-preview-title
 *     iframe#pdf-preview (src .../part/{PartID}?preview=1)  #attach-preview-close
 *   dialog#attach-lightbox (image view; also a click on an
 *     #inline-images img): img#lightbox-image  #lightbox-caption  #lightbox-close
 *   #attached-view (an attached message, in place of the outer one's body;
 *     #message-view gets .attached-open): #attached-back (back to the
 *     outer, or the enclosing attached, message)  #attached-crumb
 *     #attached-subject  #attached-meta (dt/dd)  iframe#attached-frame
 *     (sandboxed, src /view/{ID}/part/{PartID}.html)  pre#attached-text
 *     #attached-attachments (li.attachment as above)
 */
'use strict';

const attach = {
  stack: [],     // attached messages opened, innermost last
  outerId: null, // the stored message they belong to
};

/* ---- kinds and icons ------------------------------------------------------ */

function attachKind(p) {
  const t = (p.ContentType || '').toLowerCase();
  const n = (p.FileName || '').toLowerCase();
  if (t === 'message/rfc822' || n.endsWith('.eml')) return 'message';
  if (t === 'text/calendar' || t === 'application/ics' || n.endsWith('.ics')) return 'calendar';
  if (t.startsWith('image/')) return 'image';
  if (t === 'application/pdf' || n.endsWith('.pdf')) return 'pdf';
  if (/zip|compressed|x-tar|gzip|x-7z|x-rar|x-bzip/.test(t) || /\.(zip|tar|gz|tgz|7z|rar|bz2|xz)$/.test(n)) return 'archive';
  if (t.startsWith('audio/')) return 'audio';
  if (t.startsWith('video/')) return 'video';
  if (/msword|officedocument|opendocument|rtf|ms-excel|ms-powerpoint/.test(t)) return 'document';
  if (t.startsWith('text/')) return 'text';
  return 'file';
}

// label and colour of the icon of each kind
const ATTACH_ICONS = {
  image: ['IMG', '#2e7d32'], pdf: ['PDF', '#c62828'], calendar: ['ICS', '#6a1b9a'],
  message: ['EML', '#1565c0'], archive: ['ZIP', '#8d6e63'], audio: ['AUD', '#ad1457'],
  video: ['VID', '#00838f'], document: ['DOC', '#283593'], text: ['TXT', '#546e7a'], file: ['FILE', '#616161'],
};
const SVG_NS = 'http://www.w3.org/2000/svg';

function svgEl(tag, attrs) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

// A sheet with a folded corner and the kind's label, drawn inline.
function attachIcon(kind) {
  const [label, colour] = ATTACH_ICONS[kind] || ATTACH_ICONS.file;
  const s = svgEl('svg', { class: 'attach-icon', viewBox: '0 0 32 40', width: '32', height: '40', 'aria-hidden': 'true', 'data-kind': kind });
  s.append(
    svgEl('path', { class: 'attach-sheet', d: 'M3 1h18l8 8v28a2 2 0 0 1-2 2H3a2 2 0 0 1-2-2V3a2 2 0 0 1 2-2z', fill: '#fff', stroke: colour, 'stroke-width': '1.5' }),
    svgEl('path', { d: 'M21 1v8h8', fill: 'none', stroke: colour, 'stroke-width': '1.5' }),
    svgEl('rect', { x: '1', y: '22', width: '28', height: '11', rx: '1.5', fill: colour }),
  );
  const t = svgEl('text', { x: '15', y: '30.5', 'text-anchor': 'middle', 'font-size': label.length > 3 ? '7' : '8', 'font-weight': '700', 'font-family': 'system-ui, sans-serif', fill: '#fff' });
  t.textContent = label;
  s.append(t);
  return s;
}

/* ---- the list --------------------------------------------------------------- */

function attachPartUrl(id, partId) {
  return `${messagePath(id)}/part/${encodeURIComponent(partId)}`;
}

// Fill list (a <ul>) with the attachments of message m (an outer message
// or an attached one: its PartIDs are numbered under the outer ID).
function renderAttachmentList(list, id, parts) {
  list.replaceChildren();
  for (const p of parts || []) {
    const kind = attachKind(p);
    const url = attachPartUrl(id, p.PartID);
    const name = p.FileName || (kind === 'message' ? 'message.eml' : `part ${p.PartID}`);
    const li = el('li', 'attachment');
    li.dataset.kind = kind;
    li.dataset.partId = p.PartID;
    if (kind === 'image') {
      const img = el('img', 'attach-thumb');
      img.src = `${url}/thumb`;
      img.alt = '';
      img.width = 90;
      img.height = 60;
      img.loading = 'lazy';
      li.append(img);
    } else {
      li.append(attachIcon(kind));
    }
    const info = el('div', 'attach-info');
    // an unnamed invitation or message (Outlook sends invitations so) gets a name
    const a = el('a', 'attachment-link', p.FileName || (kind === 'calendar' ? 'invitation.ics' : kind === 'message' ? name : p.PartID));
    a.href = url;
    a.setAttribute('download', p.FileName || (kind === 'calendar' ? 'invitation.ics' : kind === 'message' ? name : `part-${p.PartID}`));
    a.dataset.partId = p.PartID;
    const meta = el('div', 'attach-meta');
    meta.append(el('span', 'attach-size', fmtSize(p.Size)), el('span', 'part-info', p.ContentType || ''));
    info.append(a, meta);
    li.append(info);
    const actions = el('div', 'attach-actions');
    if (kind === 'image' || kind === 'pdf') {
      const b = el('button', 'attach-preview', 'Preview');
      b.type = 'button';
      b.setAttribute('aria-label', `Preview ${name}`);
      b.addEventListener('click', () => (kind === 'pdf' ? showPdf(url, name) : showImage(url, name)));
      actions.append(b);
    }
    if (kind === 'message' && (p.ContentType || '').toLowerCase() === 'message/rfc822') {
      const b = el('button', 'attach-open-message', 'Open message');
      b.type = 'button';
      b.setAttribute('aria-label', `Open the attached message ${name}`);
      b.addEventListener('click', () => openAttached(id, p.PartID));
      actions.append(b);
    }
    if (actions.children.length) li.append(actions);
    list.append(li);
    if (kind === 'calendar') loadCalendar(li, url);
  }
}

/* ---- calendar card ------------------------------------------------------------ */

const CAL_METHODS = { REQUEST: 'Invitation', CANCEL: 'Cancelled', REPLY: 'Reply', PUBLISH: 'Event', COUNTER: 'Counter proposal', REFRESH: 'Refresh', ADD: 'Added', DECLINECOUNTER: 'Counter declined' };

// endDay: an all-day event's DTEND is the day after its last day
function fmtCalTime(s, allDay, floating, withDate, endDay = false) {
  if (!s) return '';
  if (allDay) {
    const [y, mo, d] = s.split('-').map(Number);
    return new Date(y, mo - 1, endDay ? d - 1 : d).toLocaleDateString(undefined, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' });
  }
  // floating: the wall time as written, in no zone (shown as local)
  const t = new Date(s);   // a floating time (no Z) parses as local wall time
  if (Number.isNaN(t.getTime())) return s;
  const opts = { hour: 'numeric', minute: '2-digit' };
  if (withDate) Object.assign(opts, { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' });
  if (!floating) opts.timeZoneName = 'short';
  return t.toLocaleString(undefined, opts);
}

function sameLocalDay(a, b) {
  const x = new Date(a), y = new Date(b);
  return x.toDateString() === y.toDateString();
}

async function loadCalendar(li, url) {
  const card = el('div', 'calendar-card');
  card.setAttribute('role', 'group');
  card.setAttribute('aria-label', 'Calendar invitation');
  li.append(card);
  let c;
  try {
    c = await (await api('GET', `${url}/calendar`)).json();
  } catch (err) {
    card.append(el('p', 'cal-error', `Calendar not readable: ${err.message}`));
    return;
  }
  const method = (c.Method || '').toUpperCase();
  for (const e of (c.Events || []).slice(0, 5)) {
    const ev = el('div', 'cal-event');
    const cancelled = method === 'CANCEL' || e.Status === 'CANCELLED';
    ev.classList.toggle('cancelled', cancelled);
    const badge = el('span', 'cal-method', cancelled && method !== 'CANCEL' ? 'Cancelled' : (CAL_METHODS[method] || method || 'Event'));
    badge.dataset.method = method;
    ev.append(badge, el('h3', 'cal-title', e.Summary || '(no title)'));
    if (e.Start) {
      const time = el('p', 'cal-time');
      time.dataset.start = e.Start;
      if (e.End) time.dataset.end = e.End;
      let text = fmtCalTime(e.Start, e.AllDay, e.Floating, true);
      const oneDay = e.AllDay && e.End && fmtCalTime(e.End, true, false, true, true) === text;
      if (e.End && !oneDay) {
        const same = !e.AllDay && sameLocalDay(e.Start, e.End);
        text += ` \u2013 ${fmtCalTime(e.End, e.AllDay, e.Floating, !same, e.AllDay)}`;
      }
      time.textContent = text;
      ev.append(time);
      if (e.TimeZone || e.Floating) ev.append(el('p', 'cal-tz', e.Floating ? 'Floating time (no time zone)' : `Time zone of the invitation: ${e.TimeZone}`));
    }
    if (e.Location) ev.append(el('p', 'cal-location', `Location: ${e.Location}`));
    const org = e.Organizer || {};
    if (org.Address || org.Name) ev.append(el('p', 'cal-organizer', `Organiser: ${org.Name ? `${org.Name} <${org.Address}>` : org.Address}`));
    if ((e.Attendees || []).length) ev.append(el('p', 'cal-attendees', `Attendees: ${e.Attendees.map((a) => a.Name || a.Address).join(', ')}`));
    if (e.Recurring) ev.append(el('p', 'cal-recurring', 'Repeats'));
    card.append(ev);
  }
  if (c.EventCount > 5) card.append(el('p', 'cal-more', `and ${c.EventCount - 5} more events`));
  if (!c.EventCount) card.append(el('p', 'cal-empty', 'No events in this calendar.'));
}

/* ---- previews ----------------------------------------------------------------- */

function previewBox() {
  let box = $('#attach-preview');
  if (box) return box;
  box = el('section', 'attach-preview');
  box.id = 'attach-preview';
  box.setAttribute('aria-labelledby', 'attach-preview-title');
  const head = el('div', 'attach-preview-head');
  const title = el('h3', null);
  title.id = 'attach-preview-title';
  const close = el('button', null, 'Close preview');
  close.id = 'attach-preview-close';
  close.type = 'button';
  close.addEventListener('click', hidePdf);
  head.append(title, close);
  const frame = el('iframe');
  frame.id = 'pdf-preview';
  frame.title = 'PDF preview';
  frame.setAttribute('referrerpolicy', 'no-referrer');
  box.append(head, frame);
  box.hidden = true;
  return box;
}

// The PDF in a frame: Chromium's own viewer (the part route answers
// ?preview=1 inline and, for a PDF only, without the CSP sandbox the
// viewer refuses).
function showPdf(url, name) {
  const box = previewBox();
  const host = $('#message-view').classList.contains('attached-open') ? $('#attached-view') : $('#attachments');
  host.append(box);
  $('#attach-preview-title').textContent = name;
  $('#pdf-preview').src = `${url}?preview=1`;
  box.hidden = false;
  box.scrollIntoView({ block: 'nearest' });
}

function hidePdf() {
  const box = $('#attach-preview');
  if (!box) return;
  box.hidden = true;
  $('#pdf-preview').src = 'about:blank';
}

function lightbox() {
  let d = $('#attach-lightbox');
  if (d) return d;
  d = el('dialog', 'attach-lightbox');
  d.id = 'attach-lightbox';
  d.setAttribute('aria-label', 'Image');
  const img = el('img');
  img.id = 'lightbox-image';
  const cap = el('p');
  cap.id = 'lightbox-caption';
  const close = el('button', null, 'Close');
  close.id = 'lightbox-close';
  close.type = 'button';
  close.addEventListener('click', () => d.close());
  d.addEventListener('click', (e) => { if (e.target === d) d.close(); });   // a click beside the image
  d.addEventListener('close', () => { img.removeAttribute('src'); });
  d.append(img, cap, close);
  document.body.append(d);
  return d;
}

function showImage(url, name) {
  const d = lightbox();
  const img = $('#lightbox-image');
  img.src = `${url}?preview=1`;
  img.alt = name;
  $('#lightbox-caption').textContent = name;
  d.showModal();
  $('#lightbox-close').focus();
}

/* ---- an attached message --------------------------------------------------------- */

function attachedView() {
  let v = $('#attached-view');
  if (v) return v;
  v = el('section', 'attached-view');
  v.id = 'attached-view';
  v.setAttribute('aria-label', 'Attached message');
  const back = el('button', null, '\u2190 Back');
  back.id = 'attached-back';
  back.type = 'button';
  back.addEventListener('click', attachedBack);
  const crumb = el('span');
  crumb.id = 'attached-crumb';
  const bar = el('div', 'attached-bar');
  bar.append(back, crumb);
  const subject = el('h2');
  subject.id = 'attached-subject';
  const meta = el('dl');
  meta.id = 'attached-meta';
  const frame = el('iframe');
  frame.id = 'attached-frame';
  frame.setAttribute('sandbox', 'allow-popups allow-popups-to-escape-sandbox');
  frame.setAttribute('referrerpolicy', 'no-referrer');
  frame.title = 'Attached message HTML';
  const text = el('pre');
  text.id = 'attached-text';
  const h = el('h3', null, 'Attachments');
  h.id = 'attached-attachments-title';
  const list = el('ul');
  list.id = 'attached-attachments';
  v.append(bar, subject, meta, frame, text, h, list);
  v.hidden = true;
  $('#message-view').append(v);
  return v;
}

async function openAttached(id, partId) {
  let m;
  try {
    m = await (await api('GET', `${attachPartUrl(id, partId)}/message`)).json();
  } catch (err) {
    setStatus(err.message);
    return;
  }
  if (!state.open || state.open.ID !== id) return;   // the user moved on
  attach.outerId = id;
  attach.stack.push(m);
  renderAttached();
}

function renderAttached() {
  const v = attachedView();
  const m = attach.stack[attach.stack.length - 1];
  hidePdf();
  if (!m) {
    v.hidden = true;
    $('#attached-frame').src = 'about:blank';
    $('#message-view').classList.remove('attached-open');
    return;
  }
  $('#message-view').classList.add('attached-open');
  v.hidden = false;
  const outer = state.open ? state.open.Subject || '(no subject)' : '';
  const enclosing = attach.stack.length > 1 ? attach.stack[attach.stack.length - 2].Subject || '(no subject)' : outer;
  $('#attached-back').textContent = `\u2190 Back to \u201c${enclosing}\u201d`;
  $('#attached-crumb').textContent = `Attached message (part ${m.PartID}) of \u201c${outer}\u201d`;
  $('#attached-subject').textContent = m.Subject || '(no subject)';
  const meta = $('#attached-meta');
  meta.replaceChildren();
  const add = (k, val) => { if (val) meta.append(el('dt', null, k), el('dd', null, val)); };
  add('From', addrText(m.From));
  add('To', listText(m.To, addrText));
  add('Cc', listText(m.Cc, addrText));
  add('Date', m.Date ? new Date(m.Date).toLocaleString() : '');
  add('Size', fmtSize(m.Size));
  const frame = $('#attached-frame');
  const text = $('#attached-text');
  frame.hidden = !m.HTML;
  text.hidden = !!m.HTML;
  frame.src = m.HTML ? `/view/${encodeURIComponent(m.ID)}/part/${encodeURIComponent(m.PartID)}.html` : 'about:blank';
  text.textContent = m.HTML ? '' : m.Text || '';
  renderAttachmentList($('#attached-attachments'), m.ID, m.Attachments);
  $('#attached-attachments-title').hidden = !(m.Attachments || []).length;
  $('#attached-back').focus();
}

function attachedBack() {
  attach.stack.pop();
  renderAttached();
}

function resetAttached() {
  attach.stack = [];
  attach.outerId = null;
  if ($('#attached-view')) renderAttached();
  hidePdf();
}

hooks.view.push((m) => {
  resetAttached();
  renderAttachmentList($('#attachment-list'), m.ID, m.Attachments);
});
hooks.close.push(resetAttached);
// an inline image of the message (app.js's #inline-images) opens in the lightbox too
hooks.init.push(() => {
  $('#inline-images').addEventListener('click', (e) => {
    const img = e.target.closest('img.inline-image');
    if (img && state.open) showImage(attachPartUrl(state.open.ID, img.dataset.partId), img.alt || 'image');
  });
});
