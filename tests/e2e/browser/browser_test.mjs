// End-to-end test of devmail's web page in headless Chromium (Debian's
// /usr/bin/chromium driven by npm playwright-core; no browser download).
//
// Usage: node browser_test.mjs HTTP_PORT SMTP_PORT REMOTE_PORT SCREENSHOT_DIR
//
// REMOTE_PORT is a loopback HTTP server run by the Python side
// (test_web_browser.py) standing in for "the internet": it answers any
// path and lists the paths it was asked for at /__hits. Mail is sent over
// SMTP by a tiny client here, while the page is open, so the list must
// update live over the WebSocket. Every check is recorded; the last line
// of stdout is one JSON object {ok, passed, failed, checks:[{name, ok,
// detail}], ms}; the exit status is 0 only when every check passed.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { check, report, step, smtpSend as smtpDeliver } from './lib.mjs';

const [httpPort, smtpPort, remotePort, shotDir] = process.argv.slice(2);
if (!httpPort || !smtpPort || !remotePort || !shotDir) {
  console.error('usage: node browser_test.mjs HTTP_PORT SMTP_PORT REMOTE_PORT SCREENSHOT_DIR');
  process.exit(2);
}
const BASE = `http://127.0.0.1:${httpPort}`;
const REMOTE = `http://127.0.0.1:${remotePort}`;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ACTION_TIMEOUT_MS = 5000;
const QUIET_MS = 1000;            // how long "nothing happened" is watched for
const PAGE_FILL = 52;             // bulk mails for the paging check (page size is 50)
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

const t0 = Date.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// mail goes in over SMTP (lib.mjs), as an application would send it
const smtpSend = (from, rcpts, messages) => smtpDeliver(smtpPort, 'browser-test.example', from, rcpts, messages, ACTION_TIMEOUT_MS);

/* ---- the mails ------------------------------------------------------------ */

const LOGO_PNG_B64 =
  'iVBORw0KGgoAAAANSUhEUgAAABgAAAAYCAIAAABvFaqvAAAALklEQVR42mPQz7+Hhv4fZEdDxKhhGDWIjgaRpw1TzahB9DRoNGWP5rVRg+hiEACB2auOYubZBQAAAABJRU5ErkJggg==';
// every byte value, twice: the download must come back bit for bit
const ATTACHMENT = Buffer.from([...Array(512).keys()].map((i) => i & 0xff));
const wrap76 = (s) => s.replace(/.{1,76}/g, '$&\n');
const date = () => new Date().toUTCString().replace('GMT', '+0000');

const RICH_SUBJECT = 'Welcome aboard, Grace';
const richMail = () => `From: Ada Lovelace <ada@example.com>
To: Grace Hopper <grace@example.com>
Subject: ${RICH_SUBJECT}
Date: ${date()}
Message-ID: <welcome-1@browser-test.example>
X-Devmail-Test: rich
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mixed-b"

--mixed-b
Content-Type: multipart/related; boundary="rel-b"

--rel-b
Content-Type: multipart/alternative; boundary="alt-b"

--alt-b
Content-Type: text/plain; charset=utf-8

Hello Grace, this is the plain text version.
Reset your password: https://app.example.com/reset?t=abc123
--alt-b
Content-Type: text/html; charset=utf-8

<!doctype html>
<html><body style="font-family: sans-serif; margin: 16px">
<h1 id="greeting">Hello Grace</h1>
<p id="body-text">Your account is ready. <a href="https://app.example.com/reset?t=abc123">Reset your password</a>.</p>
<p><a id="blank-link" href="${BASE}/livez?from-mail" target="_blank">Open the app in a new tab</a></p>
<p><img id="logo" src="cid:logo@browser-test" alt="logo" width="48" height="48"></p>
</body></html>
--alt-b--

--rel-b
Content-Type: image/png
Content-ID: <logo@browser-test>
Content-Disposition: inline; filename="logo.png"
Content-Transfer-Encoding: base64

${wrap76(LOGO_PNG_B64)}
--rel-b--

--mixed-b
Content-Type: application/octet-stream; name="data.bin"
Content-Disposition: attachment; filename="data.bin"
Content-Transfer-Encoding: base64

${wrap76(ATTACHMENT.toString('base64'))}
--mixed-b--
`;

const plainMail = (from, to, subject, text) => `From: ${from}
To: ${to}
Subject: ${subject}
Date: ${date()}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

${text}
`;

const HOSTILE_SUBJECT = 'Hostile mail <img src=x onerror="top.document.title=\'PWNED-subject\'">';
const HOSTILE_FILE = '<img src=x onerror=alert(1)>.txt';
// Everything in here that "works" leaves a trace: a page title containing
// PWNED, a postMessage, a request to the remote server under a path other
// than the two images, or a DELETE that empties the mailbox.
const hostileMail = () => `From: "<b onmouseover=alert(1)>Mallory</b>" <mallory@evil.example>
To: grace@example.com
Subject: ${HOSTILE_SUBJECT}
Date: ${date()}
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="hostile-b"

--hostile-b
Content-Type: text/html; charset=utf-8

<!doctype html>
<html><head>
<meta http-equiv="refresh" content="0;url=${REMOTE}/meta-refresh">
<link rel="stylesheet" href="${REMOTE}/remote.css">
<link rel="prefetch" href="${REMOTE}/prefetch">
<style>
  #cover { position: fixed; inset: 0; z-index: 2147483647; background: rgba(255,0,0,.85); color: #fff; font-size: 40px; }
  .bg { background-image: url(${REMOTE}/css-bg.png); width: 10px; height: 10px; }
</style>
<script>
  try { window.top.document.title = 'PWNED-script'; } catch (e) {}
  try { parent.postMessage('PWNED-postMessage', '*'); } catch (e) {}
  fetch('/api/v1/messages', { method: 'DELETE', body: '{}' });
  fetch('${REMOTE}/script-fetch');
  new Image().src = '${REMOTE}/script-image';
</script>
</head><body>
<div id="cover">COVER: this tries to cover the whole page</div>
<p id="hostile-text">Hostile content</p>
<a id="js-link" href="javascript:top.document.title='PWNED-link';fetch('${REMOTE}/js-link')">click me</a>
<a id="js-blank" target="_blank" href="javascript:opener.top.document.title='PWNED-blank';fetch('${REMOTE}/js-blank')">new tab</a>
<a id="top-link" target="_top" href="${REMOTE}/top-nav">navigate the page</a>
<img id="onerror-img" src="does-not-exist.png" onerror="top.document.title='PWNED-onerror';fetch('/api/v1/messages',{method:'DELETE',body:'{}'});fetch('${REMOTE}/onerror')">
<svg><script>fetch('${REMOTE}/svg-script')</script></svg>
<img id="remote-img" src="${REMOTE}/remote.png" alt="remote">
<div class="bg"></div>
<iframe src="${REMOTE}/frame"></iframe>
<object data="${REMOTE}/object"></object>
<form action="${REMOTE}/form" method="post"><button id="form-btn">go</button></form>
</body></html>
--hostile-b
Content-Type: text/plain; name="evil.txt"
Content-Disposition: attachment; filename="${HOSTILE_FILE}"

not a script
--hostile-b--
`;
// Once the user has asked for remote content, Chromium also lets the
// <link rel=prefetch> through: it allows a prefetch that any fetch
// directive would allow (here img-src http:). That request is no worse
// than the image the user asked for, so it is tolerated after the click.
const ALLOWED_REMOTE = new Set(['/remote.png', '/css-bg.png', '/prefetch']);

/* ---- helpers on the page -------------------------------------------------- */

async function api(method, p, body) {
  const r = await fetch(BASE + p, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  return r;
}
async function apiJson(p) { return (await api('GET', p)).json(); }
async function remoteHits() { return (await (await fetch(`${REMOTE}/__hits`)).json()); }

const rowSel = (id) => `#message-list .message-row[data-id="${id}"]`;
async function rowIdBySubject(page, subject, timeout = ACTION_TIMEOUT_MS) {
  const h = await page.waitForFunction((s) => {
    for (const r of document.querySelectorAll('#message-list .message-row'))
      if (r.querySelector('.subject')?.textContent === s) return r.dataset.id;
    return null;
  }, subject, { timeout });
  return h.jsonValue();
}
async function rowSubjects(page) {
  return page.$$eval('#message-list .message-row .subject', (els) => els.map((e) => e.textContent));
}
async function htmlFrame(page, id, remote = false) {
  const want = `/view/${encodeURIComponent(id)}.html${remote ? '?remote=1' : ''}`;
  await page.waitForFunction((w) => document.querySelector('#html-frame').src.endsWith(w), want);
  const frame = await (await page.$('#html-frame')).contentFrame();
  await frame.waitForURL((u) => u.href.endsWith(want), { timeout: ACTION_TIMEOUT_MS });
  await frame.waitForLoadState('load');
  return frame;
}
async function openById(page, id) {
  await page.click(rowSel(id));
  await page.waitForSelector(`#message-view[data-id="${id}"]:not([hidden])`);
}
async function shot(page, name) {
  const file = path.join(shotDir, `${name}.png`);
  await page.screenshot({ path: file, animations: 'disabled' });
  check(`screenshot ${name}`, fs.statSync(file).size > 1000, 'screenshot is empty');
}
async function pointHitsInside(page, selector) {
  return page.evaluate((sel) => {
    const t = document.querySelector(sel);
    if (!t) return 'missing';
    const b = t.getBoundingClientRect();
    const hit = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
    return hit && (hit === t || t.contains(hit)) ? 'ok' : `covered by ${hit ? hit.tagName + '#' + hit.id : 'nothing'}`;
  }, selector);
}

/* ---- the test -------------------------------------------------------------- */

fs.mkdirSync(shotDir, { recursive: true });
const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'devmail-chromium-'));
const context = await chromium.launchPersistentContext(userData, {
  executablePath: CHROMIUM,
  headless: true,
  viewport: DESKTOP,
  acceptDownloads: true,
  colorScheme: 'light',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = context.pages()[0] || (await context.newPage());
page.setDefaultTimeout(ACTION_TIMEOUT_MS);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
// errors logged by the page's own script (the mail frame's CSP reports are expected)
page.on('console', (m) => {
  if (m.type() === 'error' && /\/app\.js$/.test(m.location().url || '')) pageErrors.push(`console: ${m.text()}`);
  if (process.env.BROWSER_TEST_VERBOSE) console.error(`console.${m.type()}: ${m.text()} (${m.location().url})`);
});
const ids = {};

try {
  await step('open page', async () => {
    await page.goto(BASE + '/');
    await page.waitForSelector('#ws-status[data-state="live"]');
    check('page opens, WebSocket live', true);
    await page.waitForSelector('#list-empty:not([hidden])');
    check('empty mailbox shows #list-empty', true);
    check('counts say 0 messages', /\b0 messages/.test(await page.textContent('#counts')), await page.textContent('#counts'));
  });

  await step('connect a mail client', async () => {
    await page.click('#setup-btn');
    await page.waitForSelector('#setup-dialog[open]');
    await page.waitForFunction(() => /Outgoing mail \(SMTP\)/.test(document.querySelector('#setup-text').textContent));
    const text = await page.textContent('#setup-text');
    check('the setup view shows the SMTP listener', text.includes(`port ${smtpPort}  STARTTLS`), text);
    const ca = await page.getAttribute('#setup-ca', 'href');
    const r = await fetch(BASE + ca);
    check('the setup view links the local CA', r.ok && (await r.text()).startsWith('-----BEGIN CERTIFICATE-----'), r.status);
    await shot(page, 'client-setup');
    await page.click('#setup-close');
    await page.waitForSelector('#setup-dialog', { state: 'hidden' });
  });

  await step('live update', async () => {
    await page.evaluate(() => { window.__noReload = 'still here'; });
    const sent = Date.now();
    await smtpSend('ada@example.com', ['grace@example.com'], richMail());
    ids.rich = await rowIdBySubject(page, RICH_SUBJECT);
    check('new mail appears in the list without reload', ids.rich, 'no row');
    check('page was not reloaded', (await page.evaluate(() => window.__noReload)) === 'still here', 'window state lost');
    check('live update within 3 s of sending', Date.now() - sent < 3000, `${Date.now() - sent} ms`);
    const row = await page.$(rowSel(ids.rich));
    check('new row is unread', await row.evaluate((r) => r.classList.contains('unread')), 'no .unread');
    check('new row has attachment mark', await row.$('.attach-mark'), 'no .attach-mark');
    check('row shows sender name', (await row.$eval('.from', (e) => e.textContent)) === 'Ada Lovelace',
      await row.$eval('.from', (e) => e.textContent));
    await smtpSend('finance@example.com', ['grace@example.com'],
      plainMail('Finance Team <finance@example.com>', 'grace@example.com', 'Quarterly report Q3',
        'Revenue went up. See the attached numbers next week.'));
    await smtpSend('noreply@app.example.com', ['grace@example.com'],
      plainMail('App <noreply@app.example.com>', 'grace@example.com', 'Password reset for grace',
        'Click https://app.example.com/reset?t=xyz to reset your password.'));
    await smtpSend('bob@example.com', ['grace@example.com', 'team@example.com'],
      plainMail('Bob <bob@example.com>', 'grace@example.com, team@example.com', 'Lunch on Friday?',
        'Pizza or sushi? Reply by Thursday.'));
    ids.lunch = await rowIdBySubject(page, 'Lunch on Friday?');
    ids.quarterly = await rowIdBySubject(page, 'Quarterly report Q3');
    ids.reset = await rowIdBySubject(page, 'Password reset for grace');
    const subjects = await rowSubjects(page);
    check('list holds 4 messages, newest first',
      subjects.length === 4 && subjects[0] === 'Lunch on Friday?' && subjects[3] === RICH_SUBJECT, subjects);
    await page.waitForFunction(() => /\b4 messages, 4 unread/.test(document.querySelector('#counts').textContent));
    check('counts follow live updates', true);
  });

  await step('open message', async () => {
    await openById(page, ids.rich);
    check('subject shown', (await page.textContent('#view-subject')) === RICH_SUBJECT, await page.textContent('#view-subject'));
    const meta = await page.textContent('#view-meta');
    check('meta shows From and To', meta.includes('ada@example.com') && meta.includes('grace@example.com'), meta);
    const frame = await htmlFrame(page, ids.rich);
    const greeting = await frame.textContent('#greeting');
    check('HTML rendered inside the sandboxed iframe', greeting === 'Hello Grace', greeting);
    const sandbox = await page.getAttribute('#html-frame', 'sandbox');
    check('iframe is sandboxed without allow-scripts/allow-same-origin', sandbox !== null && !/allow-(scripts|same-origin)/.test(sandbox), sandbox);
    await frame.waitForFunction(() => document.querySelector('#logo').complete);
    const logo = await frame.$eval('#logo', (i) => ({ w: i.naturalWidth, src: i.getAttribute('src') }));
    check('inline cid: image displayed in the HTML', logo.w === 24, JSON.stringify(logo));
    await page.waitForFunction(() => {
      const i = document.querySelector('#inline-images img.inline-image');
      return i && i.complete;
    });
    const inl = await page.$eval('#inline-images img.inline-image', (i) => i.naturalWidth);
    check('inline image listed under the message', inl === 24, `naturalWidth ${inl}`);
    await page.waitForFunction((id) => !document.querySelector(`#message-list .message-row[data-id="${id}"]`).classList.contains('unread'), ids.rich);
    check('opening marks it read in the list', true);
    const msg = await apiJson(`/api/v1/message/${ids.rich}`);
    check('opening marks it read in the API', msg.Read === true, JSON.stringify(msg.Read));
    check('no remote-images bar for a mail without remote images', await page.isHidden('#remote-bar'), 'bar shown');
    const [popup] = await Promise.all([context.waitForEvent('page'), frame.click('#blank-link')]);
    await popup.waitForLoadState();
    check('a target=_blank link in the mail opens in a new tab', popup.url() === `${BASE}/livez?from-mail`, popup.url());
    await popup.close();
    check('the page stays where it was', page.url().startsWith(`${BASE}/#`), page.url());
  });

  await step('tabs', async () => {
    await page.click('.tab[data-tab="text"]');
    await page.waitForSelector('#text-view:not([hidden])');
    const text = await page.textContent('#text-view');
    check('Text tab shows the plain text part', text.includes('this is the plain text version'), text);
    check('HTML panel hidden on the Text tab', await page.isHidden('.tab-panel[data-panel="html"]'), 'still visible');

    await page.click('.tab[data-tab="headers"]');
    await page.waitForFunction(() => document.querySelectorAll('#headers-view tr').length > 3);
    const headers = await page.$$eval('#headers-view tr', (trs) => trs.map((tr) => [tr.cells[0]?.textContent || tr.querySelector('th')?.textContent, tr.querySelector('td')?.textContent]));
    const hv = (n) => headers.filter(([k]) => k && k.toLowerCase() === n.toLowerCase()).map(([, v]) => v);
    check('Headers tab shows Subject', hv('Subject').includes(RICH_SUBJECT), JSON.stringify(headers));
    check('Headers tab shows X-Devmail-Test', hv('X-Devmail-Test').includes('rich'), JSON.stringify(headers));

    await page.click('.tab[data-tab="raw"]');
    await page.waitForFunction(() => document.querySelector('#raw-view').textContent.length > 100);
    const raw = await page.textContent('#raw-view');
    check('Raw tab shows the source', raw.includes('X-Devmail-Test: rich') && raw.includes('Content-ID: <logo@browser-test>'), raw.slice(0, 300));
    check('Raw tab is text, not rendered HTML', raw.includes('<h1 id="greeting">') && !(await page.$('#raw-view h1')), 'markup was parsed');

    await page.click('.tab[data-tab="html"]');
    await page.waitForSelector('#html-frame', { state: 'visible' });
    check('back on the HTML tab', await page.isVisible('#html-frame'), 'iframe hidden');
  });

  await step('download attachment', async () => {
    const link = await page.$('a.attachment-link');
    check('attachment link listed', link && (await link.textContent()) === 'data.bin', link && (await link.textContent()));
    const [dl] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const got = fs.readFileSync(await dl.path());
    check('attachment downloads with the right name', dl.suggestedFilename() === 'data.bin', dl.suggestedFilename());
    check('attachment bytes are identical', Buffer.compare(got, ATTACHMENT) === 0, `${got.length} bytes, first ${got.subarray(0, 8).toString('hex')}`);
    const [eml] = await Promise.all([page.waitForEvent('download'), page.click('#download-raw')]);
    const emlText = fs.readFileSync(await eml.path(), 'latin1');
    check('Download .eml gives the raw message', emlText.includes(`Subject: ${RICH_SUBJECT}`), emlText.slice(0, 200));
  });

  await step('screenshots light', async () => {
    await page.mouse.move(0, 0);
    await shot(page, 'message-light');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#message-view', { state: 'hidden' });
    await shot(page, 'list-light');
  });

  await step('screenshots dark', async () => {
    const lightBg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.emulateMedia({ colorScheme: 'dark' });
    const darkBg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    check('dark color scheme changes the page colors', lightBg !== darkBg, `${lightBg} vs ${darkBg}`);
    await shot(page, 'list-dark');
    await openById(page, ids.rich);
    const frame = await htmlFrame(page, ids.rich);
    await frame.waitForSelector('#greeting');
    await page.mouse.move(0, 0);
    await shot(page, 'message-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  await step('read / unread', async () => {
    const isUnread = () => page.$eval(rowSel(ids.rich), (r) => r.classList.contains('unread'));
    await page.click('#mark-unread-btn');
    await page.waitForFunction((id) => document.querySelector(`#message-list .message-row[data-id="${id}"]`).classList.contains('unread'), ids.rich);
    check('Unread button marks the open message unread (list)', await isUnread(), 'still read');
    check('Unread button marks it unread (API)', (await apiJson(`/api/v1/messages`)).messages.find((m) => m.ID === ids.rich).Read === false, 'API says read');
    await page.click('#mark-read-btn');
    await page.waitForFunction((id) => !document.querySelector(`#message-list .message-row[data-id="${id}"]`).classList.contains('unread'), ids.rich);
    check('Read button marks it read (list)', !(await isUnread()), 'still unread');
    check('Read button marks it read (API)', (await apiJson(`/api/v1/messages`)).messages.find((m) => m.ID === ids.rich).Read === true, 'API says unread');
    // selection + toolbar: two rows via their checkboxes
    await page.keyboard.press('Escape');
    await page.check(`${rowSel(ids.lunch)} .row-check`);
    await page.check(`${rowSel(ids.reset)} .row-check`);
    await page.click('#mark-read-btn');
    await page.waitForFunction((l) => l.every((id) => !document.querySelector(`#message-list .message-row[data-id="${id}"]`).classList.contains('unread')), [ids.lunch, ids.reset]);
    const list = (await apiJson('/api/v1/messages')).messages;
    check('selected rows marked read together', [ids.lunch, ids.reset].every((id) => list.find((m) => m.ID === id).Read), JSON.stringify(list.map((m) => [m.Subject, m.Read])));
    await page.uncheck(`${rowSel(ids.lunch)} .row-check`);
    await page.uncheck(`${rowSel(ids.reset)} .row-check`);
  });

  await step('search', async () => {
    await page.fill('#search', 'subject:"Quarterly report"');
    await page.press('#search', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('#message-list .message-row').length === 1);
    let subjects = await rowSubjects(page);
    check('subject:"..." search filters the list', subjects.length === 1 && subjects[0] === 'Quarterly report Q3', subjects);
    check('counts show matches', /1 matching/.test(await page.textContent('#counts')), await page.textContent('#counts'));
    await page.fill('#search', 'has:attachment');
    await page.press('#search', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('#message-list .message-row').length === 1 &&
      !document.body.dataset.loading);
    subjects = await rowSubjects(page);
    check('has:attachment search', subjects.length === 1 && subjects[0] === RICH_SUBJECT, subjects);
    await page.fill('#search', 'from:bob@example.com -sushi');
    await page.press('#search', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('#message-list .message-row').length === 0 &&
      !document.body.dataset.loading);
    check('negated word excludes the match', await page.isVisible('#list-empty'), 'list not empty');
    await page.click('#search-clear');
    await page.waitForFunction(() => document.querySelectorAll('#message-list .message-row').length === 4);
    check('clearing the search shows all again', (await page.inputValue('#search')) === '', 'search box not cleared');
  });

  await step('keyboard', async () => {
    await page.click('#counts');                       // focus out of any input
    await page.keyboard.press('/');
    check('"/" focuses the search box', await page.evaluate(() => document.activeElement.id === 'search'), 'focus elsewhere');
    await page.keyboard.press('Escape');
    check('Escape leaves the search box', await page.evaluate(() => document.activeElement.id !== 'search'), 'still focused');
    const cur = () => page.evaluate(() => {
      const rows = [...document.querySelectorAll('#message-list .message-row')];
      return rows.findIndex((r) => r.classList.contains('current'));
    });
    await page.keyboard.press('j');
    const a = await cur();
    await page.keyboard.press('j');
    const b = await cur();
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    const c = await cur();
    check('j/k move the cursor', b === a + 1 && c === b, `after j:${a} j:${b} j,k:${c}`);
    const want = await page.$eval('#message-list .message-row.current', (r) => r.dataset.id);
    await page.keyboard.press('Enter');
    await page.waitForSelector(`#message-view[data-id="${want}"]:not([hidden])`);
    check('Enter opens the message under the cursor', true);
    await page.keyboard.press('Escape');
    await page.waitForSelector('#message-view', { state: 'hidden' });
    check('Escape closes the message', true);
  });

  await step('hostile mail', async () => {
    await page.evaluate(() => {
      window.__messages = [];
      window.addEventListener('message', (e) => window.__messages.push(String(e.data)));
    });
    const pagesBefore = context.pages().length;
    await smtpSend('mallory@evil.example', ['grace@example.com'], hostileMail());
    ids.hostile = await rowIdBySubject(page, HOSTILE_SUBJECT);
    check('markup in Subject shown as text in the list', true);
    const row = await page.$(rowSel(ids.hostile));
    check('markup in Subject/From creates no elements in the list', !(await row.$('img, b, script')),
      await row.innerHTML());
    const before = (await apiJson('/api/v1/messages')).total;
    await openById(page, ids.hostile);
    check('markup in Subject shown as text in the view', (await page.textContent('#view-subject')) === HOSTILE_SUBJECT,
      await page.textContent('#view-subject'));
    check('markup in From shown as text in the view', (await page.textContent('#view-meta')).includes('<b onmouseover=alert(1)>Mallory</b>'),
      await page.textContent('#view-meta'));
    check('markup in attachment name shown as text', (await page.textContent('a.attachment-link')) === HOSTILE_FILE &&
      !(await page.$('#message-view img:not(.inline-image)')), await page.innerHTML('#attachment-list'));
    const frame = await htmlFrame(page, ids.hostile);
    const text = await frame.textContent('#hostile-text');
    check('hostile HTML is rendered (as inert HTML)', text === 'Hostile content', text);
    await sleep(QUIET_MS);   // let anything that would run, load or refresh have its chance

    // the mail's position:fixed cover must stay inside the iframe
    const box = await page.$eval('#html-frame', (f) => { const b = f.getBoundingClientRect(); return [b.left, b.top, b.width, b.height]; });
    const view = await page.$eval('#message-view', (f) => { const b = f.getBoundingClientRect(); return [b.left, b.top, b.width, b.height]; });
    check('iframe stays within the message view', box[0] >= view[0] - 1 && box[2] <= view[2] + 1, `${box} in ${view}`);
    check('list row not covered', (await pointHitsInside(page, rowSel(ids.lunch))) === 'ok', await pointHitsInside(page, rowSel(ids.lunch)));
    check('search box not covered', (await pointHitsInside(page, '#search')) === 'ok', await pointHitsInside(page, '#search'));
    check('remote images bar shown', await page.isVisible('#remote-bar'), 'hidden');
    await shot(page, 'hostile');

    // a user clicking the mail's links and buttons (the cover moved aside
    // first, so the clicks land on them)
    await frame.$eval('#cover', (c) => { c.style.display = 'none'; });
    for (const sel of ['#js-link', '#js-blank', '#top-link', '#form-btn']) {
      try { await frame.click(sel, { timeout: 1000 }); } catch (err) { check(`click ${sel} in the mail`, false, err.message); }
    }
    await sleep(QUIET_MS);
    const title = await page.title();
    check('no script ran: page title untouched', !/PWNED/.test(title), title);
    const msgs = await page.evaluate(() => window.__messages);
    check('no script ran: no postMessage reached the page', msgs.length === 0, JSON.stringify(msgs));
    const after = (await apiJson('/api/v1/messages')).total;
    check('no script ran: messages not deleted', after === before && after === 5, `${before} -> ${after}`);
    check('page not navigated by the mail', page.url().startsWith(BASE + '/'), page.url());
    const frameUrl = (await (await page.$('#html-frame')).contentFrame()).url();
    check('frame not navigated away (meta refresh, javascript: links, forms)', frameUrl.endsWith(`/view/${ids.hostile}.html`), frameUrl);
    for (const p of context.pages().slice(pagesBefore)) {
      check('no javascript: tab opened from the mail', !p.url().startsWith('javascript'), p.url());
      await p.close();
    }
    let hits = await remoteHits();
    check('no request reached the remote server before the user asks', hits.length === 0, JSON.stringify(hits));
    const remoteImg = await frame.$eval('#remote-img', (i) => i.naturalWidth);
    check('remote image not displayed before the user asks', remoteImg === 0, `naturalWidth ${remoteImg}`);
    await page.click(rowSel(ids.lunch), { timeout: 2000 });
    await page.waitForSelector(`#message-view[data-id="${ids.lunch}"]:not([hidden])`);
    check('clicking a list row still works next to the hostile mail', true);
    check('plain-text mail opens on the Text tab', (await page.isHidden('#tab-html')) && (await page.isVisible('#text-view')),
      'HTML tab shown for a text-only mail');

    // now the user asks for remote images
    await openById(page, ids.hostile);
    await htmlFrame(page, ids.hostile);
    await page.click('#remote-images-btn');
    const frame2 = await htmlFrame(page, ids.hostile, true);
    const deadline = Date.now() + ACTION_TIMEOUT_MS;
    while (!(hits = await remoteHits()).includes('/remote.png') && Date.now() < deadline) await sleep(50);
    check('remote image requested after "load remote images"', hits.includes('/remote.png'), JSON.stringify(hits));
    await frame2.waitForFunction(() => document.querySelector('#remote-img').complete);
    const w2 = await frame2.$eval('#remote-img', (i) => i.naturalWidth);
    check('remote image displayed after the user asks', w2 > 0, `naturalWidth ${w2}`);
    check('remote bar hidden once loaded', await page.isHidden('#remote-bar'), 'still shown');
    await sleep(QUIET_MS);
    hits = await remoteHits();
    const bad = hits.filter((h) => !ALLOWED_REMOTE.has(h));
    check('with remote images on, still no scripts/frames/styles/navigation', bad.length === 0, JSON.stringify(hits));
    check('with remote images on, still no script effect', !/PWNED/.test(await page.title()) && (await page.evaluate(() => window.__messages.length)) === 0 &&
      (await apiJson('/api/v1/messages')).total === 5, await page.title());
    // reopening starts blocked again
    await openById(page, ids.lunch);
    await openById(page, ids.hostile);
    const f3 = await htmlFrame(page, ids.hostile);
    check('remote images blocked again when the message is reopened', !f3.url().includes('remote=1') && await page.isVisible('#remote-bar'), f3.url());
    await page.keyboard.press('Escape');
  });

  await step('phone layout', async () => {
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(100);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth);
    check('phone: no horizontal scrolling', overflow <= PHONE.width, `scrollWidth ${overflow}`);
    const list = await page.$eval('#list-pane', (e) => e.getBoundingClientRect().width);
    check('phone: list uses the full width', list >= PHONE.width - 2, `list width ${list}`);
    check('phone: search box visible', await page.isVisible('#search'), 'hidden');
    const sb = await page.$eval('#search', (e) => e.getBoundingClientRect());
    check('phone: search box inside the screen', sb.right <= PHONE.width && sb.width > 200, JSON.stringify(sb));
    const tb = await page.$$eval('#toolbar button', (bs) => bs.map((b) => b.getBoundingClientRect()).filter((r) => r.right > 390 || r.height < 20).length);
    check('phone: toolbar buttons on screen and tappable', tb === 0, `${tb} off-screen/too small`);
    await shot(page, 'phone-list');
    await page.click(rowSel(ids.rich));
    await page.waitForSelector(`#message-view[data-id="${ids.rich}"]:not([hidden])`);
    check('phone: message view replaces the list', await page.isHidden('#list-pane'), 'list still shown');
    const v = await page.$eval('#message-view', (e) => e.getBoundingClientRect());
    check('phone: message view fits the screen width', v.left >= 0 && v.right <= PHONE.width + 1, JSON.stringify(v));
    const frame = await htmlFrame(page, ids.rich);
    await frame.waitForSelector('#greeting');
    const fb = await page.$eval('#html-frame', (e) => e.getBoundingClientRect());
    check('phone: HTML frame is big enough to read', fb.width >= 300 && fb.height >= 300 && fb.right <= PHONE.width, JSON.stringify(fb));
    check('phone: back button visible', await page.isVisible('#back-btn'), 'hidden');
    await shot(page, 'phone-message');
    await page.click('#back-btn');
    await page.waitForSelector('#list-pane', { state: 'visible' });
    check('phone: back returns to the list', true);
    await page.setViewportSize(DESKTOP);
  });

  await step('delete', async () => {
    await openById(page, ids.lunch);
    await page.click('#view-delete-btn');
    await page.waitForSelector(rowSel(ids.lunch), { state: 'detached' });
    check('deleted message disappears from the list', true);
    check('view closes after delete', await page.isHidden('#message-view'), 'still open');
    check('deleted message is gone from the API', (await api('GET', `/api/v1/message/${ids.lunch}`)).status === 404, 'still there');
    check('4 rows left', (await rowSubjects(page)).length === 4, await rowSubjects(page));
    // removal by someone else (another client) shows up live too
    await api('DELETE', '/api/v1/messages', { IDs: [ids.reset] });
    await page.waitForSelector(rowSel(ids.reset), { state: 'detached' });
    check('delete through the API disappears live', true);
  });

  await step('live update while searching', async () => {
    await page.fill('#search', 'subject:"Weekly digest"');
    await page.press('#search', 'Enter');
    await page.waitForSelector('#list-empty:not([hidden])');
    await smtpSend('news@example.com', ['grace@example.com'], [
      plainMail('News <news@example.com>', 'grace@example.com', 'Something else', 'not a match'),
      plainMail('News <news@example.com>', 'grace@example.com', 'Weekly digest #12', 'the match'),
    ]);
    await page.waitForFunction(() => document.querySelectorAll('#message-list .message-row').length === 1);
    await sleep(400);
    const subjects = await rowSubjects(page);
    check('while searching, only matching new mail appears live', subjects.length === 1 && subjects[0] === 'Weekly digest #12', subjects);
    await page.click('#search-clear');
    await page.waitForFunction(() => document.querySelectorAll('#message-list .message-row').length === 5);
    check('clearing the search shows the other new mail too', true);
    const unread = (await apiJson('/api/v1/messages')).unread;
    check('page title shows the unread count', (await page.title()) === `(${unread}) devmail`, `${await page.title()} (unread ${unread})`);
  });

  await step('deep link', async () => {
    await page.goto(`${BASE}/#${encodeURIComponent(ids.quarterly)}`);   // same document: hashchange
    await page.waitForSelector(`#message-view[data-id="${ids.quarterly}"]:not([hidden])`);
    check('/#ID opens that message in an open page', (await page.textContent('#view-subject')) === 'Quarterly report Q3', await page.textContent('#view-subject'));
    await page.goto(`${BASE}/#${encodeURIComponent(ids.rich)}`);
    await page.reload();
    await page.waitForSelector(`#message-view[data-id="${ids.rich}"]:not([hidden])`);
    check('/#ID opens that message on load', (await page.textContent('#view-subject')) === RICH_SUBJECT, await page.textContent('#view-subject'));
    await page.waitForSelector('#ws-status[data-state="live"]');
    await page.waitForSelector('#message-list .message-row');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#message-view', { state: 'hidden' });
  });

  await step('pagination', async () => {
    const total0 = (await apiJson('/api/v1/messages')).total;
    const bulk = [...Array(PAGE_FILL).keys()].map((i) =>
      plainMail('Load <load@example.com>', 'grace@example.com', `Bulk message ${String(i).padStart(2, '0')}`, `number ${i}`));
    await smtpSend('load@example.com', ['grace@example.com'], bulk);
    const total = total0 + PAGE_FILL;
    await page.waitForFunction((t) => document.querySelector('#page-info').textContent === `1\u201350 of ${t}`, total);
    check('first page holds 50 rows', (await rowSubjects(page)).length === 50, (await rowSubjects(page)).length);
    check('newest first on page 1', (await rowSubjects(page))[0] === `Bulk message ${PAGE_FILL - 1}`, (await rowSubjects(page))[0]);
    await page.click('#next-page');
    await page.waitForFunction((t) => document.querySelector('#page-info').textContent === `51\u2013${t} of ${t}`, total);
    const last = await rowSubjects(page);
    check('Older shows the rest', last.length === total - 50 && last[last.length - 1] === RICH_SUBJECT, last);
    check('Older disabled on the last page', await page.isDisabled('#next-page'), 'enabled');
    await page.click('#counts');
    await page.keyboard.press('h');
    await page.waitForFunction(() => document.querySelector('#page-info').textContent.startsWith('1\u201350 '));
    check('h goes back to the newer page', await page.isDisabled('#prev-page'), 'Newer still enabled');
  });

  await step('delete all', async () => {
    await page.click('#delete-all-btn');
    await page.waitForSelector('#confirm-dialog[open]');
    await page.click('#confirm-no');
    await page.waitForSelector('#confirm-dialog', { state: 'hidden' });
    check('Cancel in the confirm dialog keeps the messages', (await apiJson('/api/v1/messages')).total > 50, 'messages gone');
    await page.click('#delete-all-btn');
    await page.waitForSelector('#confirm-dialog[open]');
    await page.click('#confirm-yes');
    await page.waitForSelector('#list-empty:not([hidden])');
    check('delete all empties the list', (await rowSubjects(page)).length === 0, await rowSubjects(page));
    check('delete all empties the mailbox', (await apiJson('/api/v1/messages')).total === 0, 'messages left');
    await page.waitForFunction(() => /\b0 messages/.test(document.querySelector('#counts').textContent));
    check('counts back to 0', true);
  });

  check('no JavaScript errors on the page', pageErrors.length === 0, pageErrors.join(' | '));
} finally {
  await context.close().catch(() => {});
  fs.rmSync(userData, { recursive: true, force: true });
}

report(t0);
