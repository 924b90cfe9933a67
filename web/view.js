/*
 * devmail web page, the message view's workbench (issue 12, items 1-3):
 * the HTML preview in device widths and light/dark, the check tabs (HTML
 * compatibility, links, spam, lint), a syntax-highlighted source, copy a
 * header, downloads as .html/.txt and a print view. Loaded after app.js
 * and uses its globals (hooks, state, api, el, $, messagePath, showTab,
 * setStatus). Strings from the API go into the DOM as text only: the
 * highlighted source is rebuilt from highlight.js's output keeping only
 * its <span class="hljs-..."> and text (copySafe), never inserted as HTML.
 *
 * DOM contract for browser tests (added to app.js's):
 *   #preview-bar (in the HTML panel):
 *     .device-btn[data-device=fit|desktop|tablet|phone][aria-pressed]
 *     .scheme-btn[data-scheme=system|light|dark][aria-pressed]
 *     both remembered in localStorage (devmail.device, devmail.scheme)
 *   #frame-box[data-device][data-scheme] > #html-frame  (width 1200/768/375
 *     px for desktop/tablet/phone, the pane's width for fit)
 *   .tab[data-tab=source|check|links|spam|lint] and their .tab-panel:
 *     #source-view > .src-line[data-line=N] (.hl = pointed at by a finding)
 *     #check-score  #check-list > li.check-item[data-slug][data-line]
 *       > button.check-goto, .check-clients (clients without support)
 *     #link-check-btn  #link-follow (checkbox)  #link-summary
 *       #link-list > li.link-item[data-status=ok|bad] > .link-code .link-url .link-status
 *     #spam-score  #spam-rules > tr  (#spam-error on a spamd error)
 *     #lint-summary  #lint-list > li.lint-item[data-severity]
 *     .check-off  the explanation shown when a check is off / does not apply
 *   #download-html  #download-txt  (next to #download-raw)  #print-btn (a
 *     link to /view/{ID}.html?print=1, opened in a new tab)
 *   #headers-view rows get td > button.copy-btn (copies the row's value)
 *   #raw-view: the header block highlighted (.hljs-attribute names)
 */
'use strict';

const VIEW_DEVICES = { fit: 0, desktop: 1200, tablet: 768, phone: 375 };
const VIEW_SCHEMES = ['system', 'light', 'dark'];
// Sources longer than this are shown as plain lines (highlighting a
// megabyte of HTML takes seconds in a browser).
const HIGHLIGHT_MAX_CHARS = 300000;

const view = {
  device: 'fit',
  scheme: 'system',
  hljs: null,        // promise of window.hljs, loaded on first use
  sourceOf: null,    // message ID whose source is in #source-view
};

function viewPref(key, allowed, fallback) {
  try {
    const v = localStorage.getItem(`devmail.${key}`);
    return allowed.includes(v) ? v : fallback;
  } catch { return fallback; }
}

function viewSavePref(key, v) {
  try { localStorage.setItem(`devmail.${key}`, v); } catch { /* private mode: not remembered */ }
}

/* ---- highlight.js, embedded as /highlight.min.js ----------------------- */

function loadHljs() {
  if (!view.hljs) {
    view.hljs = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = '/highlight.min.js';
      s.onload = () => (window.hljs ? resolve(window.hljs) : reject(new Error('highlight.js did not load')));
      s.onerror = () => { view.hljs = null; reject(new Error('highlight.js did not load')); };
      document.head.append(s);
    });
  }
  return view.hljs;
}

// highlight.js's result (HTML text) as lines of DOM nodes: parsed in an
// inert document, only text and the class names of its spans survive;
// a token spanning lines is cut into one span per line.
function copySafe(html) {
  const doc = new DOMParser().parseFromString(`<pre>${html}</pre>`, 'text/html');
  const lines = [[]];
  const walk = (node, classes) => {
    for (const c of node.childNodes) {
      if (c.nodeType === Node.TEXT_NODE) {
        c.data.split('\n').forEach((part, i) => {
          if (i > 0) lines.push([]);
          if (!part) return;
          if (!classes.length) lines[lines.length - 1].push(document.createTextNode(part));
          else lines[lines.length - 1].push(el('span', classes.join(' '), part));
        });
      } else if (c.nodeType === Node.ELEMENT_NODE) {
        const cls = c.tagName === 'SPAN'
          ? [...c.classList].filter((k) => /^hljs-[\w-]+$/.test(k)) : [];
        walk(c, classes.concat(cls));
      }
    }
  };
  walk(doc.body.firstChild || doc.body, []);
  return lines;
}

function plainLines(text) {
  return text.split('\n').map((l) => (l ? [document.createTextNode(l)] : []));
}

async function highlightLines(text, lang) {
  if (text.length > HIGHLIGHT_MAX_CHARS) return plainLines(text);
  try {
    const hljs = await loadHljs();
    return copySafe(hljs.highlight(lang, text, true).value);
  } catch (err) {
    console.error(err);
    return plainLines(text);
  }
}

/* ---- 1. preview: device widths and colour scheme ----------------------- */

function applyPreview() {
  const box = $('#frame-box');
  box.dataset.device = view.device;
  box.dataset.scheme = view.scheme;
  const w = VIEW_DEVICES[view.device];
  $('#html-frame').style.width = w ? `${w}px` : '';   // content-box: the mail's viewport
  for (const b of document.querySelectorAll('#preview-bar .device-btn')) {
    b.setAttribute('aria-pressed', String(b.dataset.device === view.device));
  }
  for (const b of document.querySelectorAll('#preview-bar .scheme-btn')) {
    b.setAttribute('aria-pressed', String(b.dataset.scheme === view.scheme));
  }
}

function buildPreviewBar() {
  const panel = document.querySelector('#message-view .tab-panel[data-panel="html"]');
  const bar = el('div');
  bar.id = 'preview-bar';
  bar.setAttribute('role', 'toolbar');
  bar.setAttribute('aria-label', 'Preview');
  const group = (label, cls, key, items) => {
    const g = el('div', 'seg');
    g.setAttribute('role', 'group');
    g.setAttribute('aria-label', label);
    for (const [value, text, title] of items) {
      const b = el('button', cls, text);
      b.type = 'button';
      b.dataset[key] = value;
      b.title = title;
      g.append(b);
    }
    return g;
  };
  bar.append(
    group('Width', 'device-btn', 'device', [
      ['fit', 'Fit', 'As wide as this pane'],
      ['desktop', 'Desktop', 'Desktop: 1200 px wide'],
      ['tablet', 'Tablet', 'Tablet: 768 px wide'],
      ['phone', 'Phone', 'Phone: 375 px wide'],
    ]),
    group('Colour scheme of the mail', 'scheme-btn', 'scheme', [
      ['system', 'System', 'As this browser\'s setting: the mail\'s own prefers-color-scheme rules follow the OS'],
      ['light', 'Light', 'As a mail client in light mode shows it'],
      ['dark', 'Dark', 'As a mail client in dark mode shows it: the mail\'s own dark rules apply'],
    ]),
  );
  bar.addEventListener('click', (e) => {
    const b = e.target.closest('button');
    if (!b) return;
    if (b.dataset.device) {
      view.device = b.dataset.device;
      viewSavePref('device', view.device);
      applyPreview();
    } else if (b.dataset.scheme) {
      view.scheme = b.dataset.scheme;
      viewSavePref('scheme', view.scheme);
      applyPreview();
      if (state.open && state.tab === 'html') showTab('html');   // reload with ?scheme=
    }
  });
  const frame = $('#html-frame');
  const box = el('div');
  box.id = 'frame-box';
  frame.replaceWith(box);
  box.append(frame);
  panel.insertBefore(bar, panel.firstChild);
}

/* ---- 2. checks ----------------------------------------------------------- */

function offNote(panel, text) {
  panel.replaceChildren(el('p', 'check-off', text));
}

async function apiAnswer(path) {
  // the check routes answer 400 with a sentence when a check does not apply
  const r = await fetch(path);
  const body = await r.text();
  if (r.ok) return { ok: true, json: JSON.parse(body) };
  if (r.status === 400) return { ok: false, text: body.trim() };
  throw new Error(`GET ${path}: ${r.status} ${body.slice(0, 200)}`.trim());
}

function pct(n) {
  return `${Math.round(Number(n) || 0)} %`;
}

async function loadCheck(m, panel) {
  const a = await apiAnswer(`${messagePath(m.ID)}/html-check`);
  if (state.open !== m) return;
  if (!a.ok) {
    offNote(panel, `${a.text}: the HTML check looks at the HTML part of a message, and this one has none.`);
    return;
  }
  const t = a.json.Total || {};
  const score = el('p');
  score.id = 'check-score';
  score.append(
    el('strong', 'score-big', pct(t.Supported)),
    ` supported, ${pct(t.Partial)} partially, ${pct(t.Unsupported)} not, by the email clients caniemail.com tested `,
    `(${t.Tests || 0} features looked for, ${t.Nodes || 0} elements).`,
  );
  const list = el('ol');
  list.id = 'check-list';
  for (const w of a.json.Warnings || []) {
    const li = el('li', 'check-item');
    li.dataset.slug = w.Slug;
    if (w.Line) li.dataset.line = String(w.Line);
    const s = w.Score || {};
    const head = el('div', 'check-head');
    head.append(el('span', 'check-title', w.Title), el('span', 'check-pct', `${pct(s.Supported)} supported`),
      el('span', 'check-found', `used ${s.Found || 0}\u00d7`));
    if (w.Line) {
      const go = el('button', 'check-goto', `line ${w.Line}`);
      go.type = 'button';
      go.title = 'Show this line in the HTML source';
      go.addEventListener('click', () => gotoSourceLine(w.Line));
      head.append(go);
    }
    li.append(head);
    const lacking = (w.Results || []).filter((r) => r.Support === 'no').map((r) => r.Name);
    const partial = (w.Results || []).filter((r) => r.Support === 'partial').map((r) => r.Name);
    const clients = el('p', 'check-clients');
    if (lacking.length) clients.append(el('span', 'check-no', 'Not supported: '), lacking.join(', '));
    if (partial.length) {
      if (lacking.length) clients.append(el('br'));
      clients.append(el('span', 'check-partial', 'Partly: '), partial.join(', '));
    }
    if (!lacking.length && !partial.length) clients.textContent = w.Description || '';
    li.append(clients);
    if (w.URL && /^https:\/\//.test(w.URL)) {
      const more = el('a', 'check-more', 'caniemail.com');
      more.href = w.URL;
      more.target = '_blank';
      more.rel = 'noopener noreferrer';
      li.append(more);
    }
    list.append(li);
  }
  const intro = el('p', 'check-intro', 'Features of this HTML that some email clients do not support, the worst first. '
    + 'Click a line number to see it in the source.');
  panel.replaceChildren(score, intro, list);
  if (!list.children.length) panel.append(el('p', 'check-off', 'No feature with limited support found.'));
}

function linkPanel(m, panel) {
  const bar = el('div', 'check-bar');
  const btn = el('button', null, 'Check links');
  btn.id = 'link-check-btn';
  btn.type = 'button';
  const lab = el('label');
  const follow = el('input');
  follow.type = 'checkbox';
  follow.id = 'link-follow';
  lab.append(follow, ' follow redirects');
  bar.append(btn, lab);
  const summary = el('p');
  summary.id = 'link-summary';
  summary.textContent = 'Asks every link and image URL of the message for its status, only hosts that '
    + 'link_check_allowed admits (empty by default: then no request leaves this machine).';
  const list = el('ul');
  list.id = 'link-list';
  btn.addEventListener('click', async () => {
    btn.disabled = true;
    summary.textContent = 'Checking\u2026';
    list.replaceChildren();
    try {
      const r = await (await api('GET', `${messagePath(m.ID)}/link-check${follow.checked ? '?follow=true' : ''}`)).json();
      if (state.open !== m) return;
      const links = r.Links || [];
      const blocked = links.filter((l) => /link_check_allowed is empty/.test(l.Status || ''));
      for (const l of links) {
        const bad = !l.StatusCode || l.StatusCode >= 400;
        const li = el('li', 'link-item');
        li.dataset.status = bad ? 'bad' : 'ok';
        li.append(el('span', 'link-code', l.StatusCode || '\u2014'), el('span', 'link-url', l.URL),
          el('span', 'link-status', l.Status));
        list.append(li);
      }
      if (!links.length) summary.textContent = 'The message has no links or images to check.';
      else if (blocked.length === links.length) {
        summary.replaceChildren(el('span', 'check-off',
          'Link checking is off: link_check_allowed is empty, so no link was asked. Set it to the hosts or '
          + 'networks the check may contact (README: configuration).'));
      } else summary.textContent = `${links.length} checked, ${r.Errors} with errors.`;
    } catch (err) {
      summary.textContent = err.message;
    } finally {
      btn.disabled = false;
    }
  });
  panel.replaceChildren(bar, summary, list);
}

async function loadSpam(m, panel) {
  panel.replaceChildren(el('p', 'check-wait', 'Asking SpamAssassin\u2026'));
  const a = await apiAnswer(`${messagePath(m.ID)}/sa-check`);
  if (state.open !== m) return;
  if (!a.ok) {
    offNote(panel, `${a.text}: set the spamassassin key to the HOST:PORT of a SpamAssassin spamd `
      + 'and this tab shows its score and rules.');
    return;
  }
  const r = a.json;
  if (r.Error) {
    const p = el('p', 'check-off', `spamd: ${r.Error}`);
    p.id = 'spam-error';
    panel.replaceChildren(p);
    return;
  }
  const score = el('p');
  score.id = 'spam-score';
  score.dataset.spam = String(!!r.IsSpam);
  score.append(el('strong', 'score-big', String(r.Score)), r.IsSpam ? ' points: spam' : ' points: not spam');
  const table = el('table');
  const tb = el('tbody');
  tb.id = 'spam-rules';
  for (const rule of r.Rules || []) {
    const tr = el('tr');
    tr.append(el('td', 'rule-score', String(rule.Score)), el('th', 'rule-name', rule.Name),
      el('td', 'rule-desc', rule.Description));
    tb.append(tr);
  }
  table.append(tb);
  panel.replaceChildren(score, table);
}

async function loadLint(m, panel) {
  const r = await (await api('GET', `${messagePath(m.ID)}/lint`)).json();
  if (state.open !== m) return;
  const sum = el('p');
  sum.id = 'lint-summary';
  sum.textContent = `${r.Errors} errors, ${r.Warnings} warnings, ${r.Infos} notes (devmail's own check of what `
    + 'makes mail bounce, land in spam or render badly).';
  const list = el('ul');
  list.id = 'lint-list';
  for (const f of r.Findings || []) {
    const li = el('li', 'lint-item');
    li.dataset.severity = f.Severity;
    li.append(el('span', 'lint-sev', f.Severity), el('code', 'lint-code', f.Code), el('span', 'lint-msg', f.Message));
    if (f.Where) li.append(el('span', 'lint-where', f.Where));
    list.append(li);
  }
  panel.replaceChildren(sum, list);
  if (!list.children.length) panel.append(el('p', 'check-off', 'Nothing found.'));
}

/* ---- 3. source ------------------------------------------------------------ */

async function loadSource(m, panel) {
  const pre = el('pre', 'hljs');
  pre.id = 'source-view';
  if (!m.HTML) {
    offNote(panel, 'This message has no HTML part; its text is in the Text tab, all of it in Raw.');
    return;
  }
  panel.replaceChildren(el('p', 'check-wait', 'Highlighting\u2026'));
  const lines = await highlightLines(m.HTML, 'xml');
  if (state.open !== m) return;
  lines.forEach((nodes, i) => {
    const line = el('span', 'src-line');
    line.dataset.line = String(i + 1);
    line.append(...nodes, '\n');
    pre.append(line);
  });
  panel.replaceChildren(pre);
  view.sourceOf = m.ID;
}

async function gotoSourceLine(n) {
  await showTab('source');
  const line = document.querySelector(`#source-view .src-line[data-line="${Number(n)}"]`);
  if (!line) return;
  for (const l of document.querySelectorAll('#source-view .src-line.hl')) l.classList.remove('hl');
  line.classList.add('hl');
  line.scrollIntoView({ block: 'center' });
}

// app.js fills #raw-view with the raw message as text; its header block
// is then shown highlighted (the body stays plain).
async function highlightRaw() {
  const raw = $('#raw-view');
  const text = raw.textContent;
  if (!text || raw.dataset.hl === String(text.length)) return;
  const m = state.open;
  const end = text.search(/\r?\n\r?\n/);
  const head = end < 0 ? text : text.slice(0, end);
  const lines = await highlightLines(head.replace(/\r/g, ''), 'http');
  if (state.open !== m || raw.textContent !== text) return;
  const frag = document.createDocumentFragment();
  lines.forEach((nodes, i) => { if (i) frag.append('\n'); frag.append(...nodes); });
  frag.append(end < 0 ? '' : text.slice(end).replace(/\r/g, ''));
  raw.dataset.hl = String(frag.textContent.length);
  raw.replaceChildren(frag);
}

// a copy button in every row of the headers table app.js builds
function addCopyButtons() {
  for (const tr of document.querySelectorAll('#headers-view tbody tr')) {
    if (tr.querySelector('.copy-btn')) continue;
    const td = tr.querySelector('td');
    const name = tr.querySelector('th').textContent;
    const value = td.textContent;
    const b = el('button', 'copy-btn', 'Copy');
    b.type = 'button';
    b.title = `Copy the value of ${name}`;
    b.setAttribute('aria-label', `Copy ${name}`);
    b.addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText(value);
        b.textContent = 'Copied';
        setTimeout(() => { b.textContent = 'Copy'; }, 1500);
      } catch (err) {
        setStatus(`Copy failed: ${err.message}`);
      }
    });
    tr.append(el('td', 'copy-cell'));
    tr.lastChild.append(b);
  }
}

/* ---- wiring ----------------------------------------------------------------- */

const VIEW_TABS = [
  ['source', 'Source', 'The HTML source, highlighted'],
  ['check', 'HTML check', 'Which email clients support the HTML and CSS of this mail'],
  ['links', 'Links', 'The status of every link and image, checked on demand'],
  ['spam', 'Spam', 'SpamAssassin\'s score and rules'],
  ['lint', 'Lint', 'devmail\'s own check of the message'],
];

function buildTabs() {
  const tabs = $('#tabs');
  const anchor = $('#download-raw');
  const after = document.querySelector('#message-view .tab-panel[data-panel="raw"]');
  let last = after;
  for (const [name, text, title] of VIEW_TABS) {
    const b = el('button', 'tab', text);
    b.type = 'button';
    b.dataset.tab = name;
    b.id = `tab-${name}`;
    b.title = title;
    b.setAttribute('role', 'tab');
    tabs.append(b);
    const p = el('div', 'tab-panel');
    p.dataset.panel = name;
    p.setAttribute('role', 'tabpanel');
    p.setAttribute('aria-labelledby', b.id);
    p.hidden = true;
    last.after(p);
    last = p;
  }
  const links = el('span', 'tab-links');
  const mk = (id, text, title) => {
    const a = el('a', 'tab-link', text);
    a.id = id;
    a.title = title;
    return a;
  };
  const html = mk('download-html', '.html', 'Download the HTML part');
  const txt = mk('download-txt', '.txt', 'Download the text');
  const print = mk('print-btn', 'Print', 'A print view (headers and body) in a new tab');
  print.target = '_blank';
  print.rel = 'noopener';
  anchor.replaceWith(links);
  links.append(anchor, html, txt, print);
}

hooks.tabs.source = loadSource;
hooks.tabs.check = loadCheck;
hooks.tabs.links = async (m, panel) => linkPanel(m, panel);
hooks.tabs.spam = loadSpam;
hooks.tabs.lint = loadLint;

hooks.viewUrl.push((q) => {
  if (view.scheme !== 'system') q.set('scheme', view.scheme);
});

hooks.view.push((m) => {
  const base = `/view/${encodeURIComponent(m.ID)}`;
  const html = $('#download-html');
  html.hidden = !m.HTML;
  html.href = `${base}.html?dl=1`;
  html.setAttribute('download', `${m.ID}.html`);
  const txt = $('#download-txt');
  txt.href = `${base}.txt?dl=1`;
  txt.setAttribute('download', `${m.ID}.txt`);
  $('#print-btn').href = `${base}.html?print=1`;
  delete $('#raw-view').dataset.hl;
  view.sourceOf = null;
});

hooks.init.push(() => {
  view.device = viewPref('device', Object.keys(VIEW_DEVICES), 'fit');
  view.scheme = viewPref('scheme', VIEW_SCHEMES, 'system');
  buildPreviewBar();
  buildTabs();
  applyPreview();
  new MutationObserver(addCopyButtons).observe($('#headers-view tbody'), { childList: true });
  new MutationObserver(() => { highlightRaw(); }).observe($('#raw-view'), { childList: true });
});
