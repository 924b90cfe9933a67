// Browser test of the list side of the web page (web/list.js): tags
// (sidebar, counts, colours, add/remove/rename on one and many), bulk
// actions (shift-click, "select all N matching" beyond the page), release
// to a real address through a relay, notifications, the unread badge in
// the favicon and title, the theme choice and the one clear button.
//
// Usage: node list_test.mjs HTTP_PORT SMTP_PORT RELAY_HTTP_PORT SCREENSHOT_DIR
//
// RELAY_HTTP_PORT is the web API of a second devmail that is the first
// one's relay_host (relay_allowed_recipients *@example.com): a released
// message must arrive there. Output protocol as browser_test.mjs: the last
// stdout line is {ok, passed, failed, checks:[{name, ok, detail}], ms}.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { check, report, step, smtpSend as smtpDeliver } from './lib.mjs';

const [httpPort, smtpPort, relayHttpPort, shotDir] = process.argv.slice(2);
if (!httpPort || !smtpPort || !relayHttpPort || !shotDir) {
  console.error('usage: node list_test.mjs HTTP_PORT SMTP_PORT RELAY_HTTP_PORT SCREENSHOT_DIR');
  process.exit(2);
}
const BASE = `http://127.0.0.1:${httpPort}`;
const RELAY = `http://127.0.0.1:${relayHttpPort}`;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ACTION_TIMEOUT_MS = 10000;
const BULK = 60;                  // more than a page (50)

const t0 = Date.now();

const smtpSend = (from, rcpts, messages) => smtpDeliver(smtpPort, 'list-test.example', from, rcpts, messages, ACTION_TIMEOUT_MS);
const date = () => new Date().toUTCString().replace('GMT', '+0000');
const mail = (subject, to = 'grace@example.com') => `From: Ada <ada@example.com>
To: ${to}
Subject: ${subject}
Date: ${date()}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Body of ${subject}.
`;

async function api(method, p, body, base = BASE) {
  return fetch(base + p, {
    method, headers: body ? { 'Content-Type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined,
  });
}
async function apiJson(p, base = BASE) { return (await api('GET', p, undefined, base)).json(); }
const q = encodeURIComponent;

const rowSel = (id) => `#message-list .message-row[data-id="${id}"]`;
async function rowIdBySubject(page, subject) {
  const h = await page.waitForFunction((s) => {
    for (const r of document.querySelectorAll('#message-list .message-row'))
      if (r.querySelector('.subject')?.textContent === s) return r.dataset.id;
    return null;
  }, subject);
  return h.jsonValue();
}
async function openById(page, id) {
  await page.click(`${rowSel(id)} .subject`);
  await page.waitForSelector(`#message-view[data-id="${id}"]:not([hidden])`);
}
async function shot(page, name) {
  const file = path.join(shotDir, `${name}.png`);
  await page.screenshot({ path: file, animations: 'disabled' });
  check(`screenshot ${name}`, fs.statSync(file).size > 1000, 'screenshot is empty');
}
async function search(page, text) {
  await page.fill('#search', text);
  await page.press('#search', 'Enter');
  await page.waitForFunction(() => !document.body.dataset.loading);
}
const bg = (page, sel) => page.$eval(sel, (e) => getComputedStyle(e).backgroundColor);
const fg = (page, sel) => page.$eval(sel, (e) => getComputedStyle(e).color);
function rgb(s) { return (s.match(/[\d.]+/g) || []).slice(0, 3).map(Number); }
function luminance([r, g, b]) {
  const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
}
function contrast(a, b) {
  const [x, y] = [luminance(rgb(a)), luminance(rgb(b))].sort((m, n) => n - m);
  return (x + 0.05) / (y + 0.05);
}
async function tagsOf(id) { return ((await apiJson(`/api/v1/message/${q(id)}`)).Tags || []).slice().sort(); }

/* ---- the test ------------------------------------------------------------------ */

fs.mkdirSync(shotDir, { recursive: true });
const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'devmail-chromium-list-'));
const context = await chromium.launchPersistentContext(userData, {
  executablePath: CHROMIUM,
  headless: true,
  viewport: { width: 1280, height: 800 },
  colorScheme: 'light',
  permissions: ['notifications'],
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
// A recording stand-in for the Notification API (headless Chromium shows
// nothing): permission starts "default"; the page must ask for it.
await context.addInitScript(() => {
  if (window !== window.top) return;        // not in the mail's sandboxed frame
  window.__notes = [];
  window.__asked = 0;
  class FakeNotification {
    constructor(title, opts) { window.__notes.push({ title, body: opts && opts.body, tag: opts && opts.tag }); }
    static requestPermission() {
      window.__asked++;
      FakeNotification.permission = 'granted';
      return Promise.resolve('granted');
    }
  }
  FakeNotification.permission = localStorage.getItem('devmail.notify') ? 'granted' : 'default';
  window.Notification = FakeNotification;
  // the page notifies only when it is not in front
  document.hasFocus = () => false;
});
const page = context.pages()[0] || (await context.newPage());
page.setDefaultTimeout(ACTION_TIMEOUT_MS);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
page.on('console', (m) => {
  if (m.type() === 'error' && /\/(app|list)\.js$/.test(m.location().url || '')) pageErrors.push(`console: ${m.text()}`);
  if (process.env.BROWSER_TEST_VERBOSE) console.error(`console.${m.type()}: ${m.text()}`);
});
const ids = {};

try {
  await step('mail arrives', async () => {
    const bulk = [];
    for (let i = 0; i < BULK; i++) bulk.push(mail(`Bulk ${String(i).padStart(2, '0')}`));
    await smtpSend('ada@example.com', ['grace@example.com'], bulk);
    await smtpSend('ada@example.com', ['grace@example.com'],
      [mail('Invoice one'), mail('Invoice two'), mail('Release me', 'grace@example.com')]);
    await page.goto(BASE + '/');
    await page.waitForSelector('#ws-status[data-state="live"]');
    ids.release = await rowIdBySubject(page, 'Release me');
    ids.inv1 = await rowIdBySubject(page, 'Invoice one');
    ids.inv2 = await rowIdBySubject(page, 'Invoice two');
    check('list shows the mail', !!ids.inv1);
  });

  await step('one clear button in the search box', async () => {
    check('clear button hidden while the box is empty', await page.isHidden('#search-clear'));
    await page.fill('#search', 'Invoice');
    check('clear button shown once there is text', await page.isVisible('#search-clear'));
    // The browser's own cancel button lives in a closed user-agent shadow
    // tree: compare pictures of the focused box (page's × hidden, caret hidden) with
    // the same box as a plain text field (which never has one), and prove
    // the comparison can see the button by taking the page's rule away.
    await page.evaluate(() => { document.querySelector('#search-clear').style.visibility = 'hidden'; });
    await page.focus('#search');
    const asIs = await page.locator('#search').screenshot();
    // without the page's rule that hides it (list.css, in page.css; taken out for a moment)
    const rule = await page.evaluate(() => {
      for (const sh of document.styleSheets) {
        if (!/\/page\.css$/.test(sh.href || '')) continue;
        const i = [...sh.cssRules].findIndex((r) => /search-cancel-button/.test(r.selectorText || ''));
        if (i >= 0) { const text = sh.cssRules[i].cssText; sh.deleteRule(i); window.__cancelRule = [sh.href, i, text]; return text; }
      }
      return null;
    });
    check('page.css (list.css) has the rule hiding the native button', !!rule);
    await page.focus('#search');
    const bare = await page.locator('#search').screenshot();
    await page.evaluate(() => {
      const [href, i, text] = window.__cancelRule;
      [...document.styleSheets].find((sh) => sh.href === href).insertRule(text, i);
      document.querySelector('#search').type = 'text'; document.querySelector('#search').focus(); });
    const plain = await page.locator('#search').screenshot();
    await page.evaluate(() => { document.querySelector('#search').type = 'search'; document.querySelector('#search-clear').style.visibility = ''; });
    check('the picture comparison sees a native cancel button', !bare.equals(plain), 'no native button visible even without the rule');
    check('the browser\'s own cancel button is not shown', asIs.equals(plain), 'box differs from a plain text field');
    await page.press('#search', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('#message-list .message-row').length === 2);
    await shot(page, 'list-search-clear');
    await page.click('#search-clear');
    await page.waitForFunction(() => document.querySelectorAll('#message-list .message-row').length === 50);
    check('× clears the search and shows all again', (await page.inputValue('#search')) === '');
    check('clear button hidden again', await page.isHidden('#search-clear'));
  });

  await step('tag the open message', async () => {
    await openById(page, ids.inv1);
    await page.fill('#view-tag-input', 'needs review');
    await page.click('#view-tag-add');
    await page.waitForSelector('#view-tags .tag[data-tag="needs review"]');
    check('tag with a space stored on the message', JSON.stringify(await tagsOf(ids.inv1)) === '["needs review"]',
      await tagsOf(ids.inv1));
    await page.waitForSelector(`${rowSel(ids.inv1)} .tag[data-tag="needs review"]`);
    check('tag shown in the list row', true);
    await page.waitForSelector('#tag-list .tag-filter[data-tag="needs review"]');
    const count = await page.textContent('#tag-list .tag-filter[data-tag="needs review"] .tag-count');
    check('sidebar lists the tag with its count', count === '1', count);
  });

  await step('shift-click range and tag many', async () => {
    await page.click('#back-btn');
    const rows = await page.$$eval('#message-list .message-row', (r) => r.map((x) => x.dataset.id));
    await page.click(`${rowSel(rows[1])} .row-check`);
    await page.click(`${rowSel(rows[5])} .row-check`, { modifiers: ['Shift'] });
    const sel = await page.$$eval('#message-list .message-row.selected', (r) => r.map((x) => x.dataset.id));
    check('shift-click selects the range (5 rows)', JSON.stringify(sel) === JSON.stringify(rows.slice(1, 6)), sel);
    ids.range = rows.slice(1, 6);
    await page.click('#tag-btn');
    await page.waitForSelector('#tag-dialog[open]');
    check('tag dialog says what it acts on', /5 messages/.test(await page.textContent('#tag-dialog-target')),
      await page.textContent('#tag-dialog-target'));
    await page.fill('#tag-dialog-input', 'batch, two words');
    await shot(page, 'list-tag-dialog');
    await page.click('#tag-dialog-add');
    await page.waitForFunction(() => document.querySelector('#tag-list .tag-filter[data-tag="batch"] .tag-count')?.textContent === '5');
    const all = await Promise.all(ids.range.map(tagsOf));
    check('all 5 selected messages got both tags', all.every((t) => t.includes('batch') && t.includes('two words')),
      JSON.stringify(all));
    const untouched = await tagsOf(rows[0]);
    check('a message outside the range got none', untouched.length === 0, untouched);
    await page.waitForSelector(`${rowSel(ids.range[0])} .tag[data-tag="batch"]`);
    check('rows show the new tags live', true);
  });

  await step('tag colours', async () => {
    const a = `${rowSel(ids.range[0])} .tag[data-tag="batch"]`;
    const b = `${rowSel(ids.range[0])} .tag[data-tag="two words"]`;
    const side = '#tag-list .tag-filter[data-tag="batch"] .tag';
    // both read in one go: the sidebar and rows are redrawn by live updates
    const same = await page.waitForFunction(([x, y]) => {
      const e = document.querySelector(x), f = document.querySelector(y);
      if (!e || !f) return false;
      const [c, d] = [getComputedStyle(e).backgroundColor, getComputedStyle(f).backgroundColor];
      return c === d ? c : false;
    }, [a, side]).then((h) => h.jsonValue(), (err) => err.message);
    check('a tag has the same colour in the row and the sidebar', /^rgb/.test(same), same);
    check('two tags have different colours', (await bg(page, a)) !== (await bg(page, b)));
    const cl = contrast(await fg(page, a), await bg(page, a));
    check('tag text readable in light (contrast >= 4.5)', cl >= 4.5, cl);
    await shot(page, 'list-tags');
  });

  await step('filter by tag from the sidebar', async () => {
    await page.click('#tag-list .tag-filter[data-tag="two words"]');
    await page.waitForFunction(() => document.querySelectorAll('#message-list .message-row').length === 5);
    check('search box shows tag:"two words"', (await page.inputValue('#search')) === 'tag:"two words"',
      await page.inputValue('#search'));
    check('sidebar marks the active tag',
      await page.$eval('#tag-list .tag-filter[data-tag="two words"]', (e) => e.classList.contains('active')));
    await page.click('#tag-list .tag-filter[data-tag=""]');
    await page.waitForFunction(() => document.querySelectorAll('#message-list .message-row').length === 50);
    check('"All messages" shows everything again', (await page.inputValue('#search')) === '');
  });

  await step('rename and remove tags', async () => {
    await page.click('#tag-list .tag-rename[data-tag="batch"]');
    await page.waitForSelector('#name-dialog[open]');
    await page.fill('#name-dialog-input', 'batch two');
    await page.click('#name-dialog-ok');
    await page.waitForSelector('#tag-list .tag-filter[data-tag="batch two"]');
    const tags = await apiJson('/api/v1/tags');
    check('rename reached the server', tags.includes('batch two') && !tags.includes('batch'), tags);
    await page.click('#tag-list .tag-remove[data-tag="two words"]');
    await page.waitForSelector('#confirm-dialog[open]');
    await page.click('#confirm-yes');
    await page.waitForSelector('#tag-list .tag-filter[data-tag="two words"]', { state: 'detached' });
    check('tag removed from every message', !(await apiJson('/api/v1/tags')).includes('two words'));
    await openById(page, ids.inv1);
    await page.click('#view-tags .tag[data-tag="needs review"] .tag-chip-remove');
    await page.waitForSelector('#view-tags .tag[data-tag="needs review"]', { state: 'detached' });
    check('× on a chip removes the tag from the open message', !(await tagsOf(ids.inv1)).includes('needs review'),
      await tagsOf(ids.inv1));
    await page.click('#back-btn');
  });

  await step('select all matching a search, beyond the page', async () => {
    await search(page, 'subject:Bulk');
    await page.waitForFunction(() => document.querySelectorAll('#message-list .message-row').length === 50);
    await page.check('#select-all');
    await page.waitForSelector('#select-matching:not([hidden])');
    const btn = await page.textContent('#select-matching-btn');
    check('offer to select all 60 matching', /Select all 60 matching/.test(btn), btn);
    await page.click('#select-matching-btn');
    const text = await page.textContent('#select-matching-text');
    check('bar says all 60 are selected', /All 60 messages matching/.test(text), text);
    await shot(page, 'list-bulk');
    await page.click('#tag-btn');
    await page.waitForSelector('#tag-dialog[open]');
    await page.fill('#tag-dialog-input', 'bulk all');
    await page.click('#tag-dialog-add');
    await page.waitForFunction(() => document.querySelector('#tag-list .tag-filter[data-tag="bulk all"] .tag-count')?.textContent === '60');
    check('tag added to all 60 matches, not only 50', (await apiJson('/api/v1/info')).Tags['bulk all'] === 60);
    await page.click('#mark-read-btn');
    let s;
    for (let i = 0; i < 50; i++) {
      s = await apiJson(`/api/v1/search?query=${q('subject:Bulk')}&limit=1`);
      if (s.messages_unread === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    check('Read marks all 60 matches read', s.messages_unread === 0, s.messages_unread);
    await page.click('#mark-unread-btn');
    for (let i = 0; i < 50; i++) {
      s = await apiJson(`/api/v1/search?query=${q('subject:Bulk')}&limit=1`);
      if (s.messages_unread === BULK) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    check('Unread marks all 60 matches unread', s.messages_unread === BULK, s.messages_unread);
    await page.click('#delete-btn');
    await page.waitForSelector('#confirm-dialog[open]');
    check('delete asks first, naming all 60', /all 60 messages matching/.test(await page.textContent('#confirm-text')),
      await page.textContent('#confirm-text'));
    await page.click('#confirm-yes');
    await page.waitForSelector('#list-empty:not([hidden])');
    const left = await apiJson('/api/v1/messages');
    check('delete removed all 60 matches and nothing else', left.total === 3, left.total);
    await page.click('#search-clear');
    await page.waitForFunction(() => document.querySelectorAll('#message-list .message-row').length === 3);
  });

  await step('release to a real address', async () => {
    await openById(page, ids.release);
    await page.click('#release-btn');
    await page.waitForSelector('#release-dialog[open]');
    const allowed = await page.textContent('#release-allowed');
    check('dialog shows the allow-list', /\*@example\.com/.test(allowed), allowed);
    await page.fill('#release-to', 'someone@elsewhere.org');
    await page.click('#release-send');
    await page.waitForSelector('#release-result[data-state="error"]');
    const err = await page.textContent('#release-result');
    check('an address outside the allow-list: the server\'s refusal shown', /Not released: .+/.test(err), err);
    await page.fill('#release-to', 'grace@example.com');
    await page.click('#release-send');
    await page.waitForSelector('#release-result[data-state="ok"]');
    check('release succeeds', /Released to grace@example\.com/.test(await page.textContent('#release-result')));
    await shot(page, 'list-release');
    let got;
    for (let i = 0; i < 50; i++) {
      got = await apiJson('/api/v1/messages', RELAY);
      if (got.total > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    check('released message arrived at the relay', got.total === 1 && got.messages[0].Subject === 'Release me',
      JSON.stringify(got.messages?.map((m) => m.Subject)));
    await page.click('#release-close');
    await page.click('#back-btn');
  });

  await step('notifications', async () => {
    check('notifications off at first', (await page.getAttribute('#notify-toggle', 'aria-pressed')) === 'false');
    await page.click('#notify-toggle');
    await page.waitForSelector('#notify-toggle[aria-pressed="true"]');
    check('turning them on asks the browser for permission', (await page.evaluate(() => window.__asked)) === 1);
    await smtpSend('ada@example.com', ['grace@example.com'], [mail('Ping from the app')]);
    await page.waitForFunction(() => window.__notes.length > 0);
    const n = await page.evaluate(() => window.__notes[0]);
    check('a new mail raises a notification with its subject', n.title === 'Ping from the app' && /Ada/.test(n.body),
      JSON.stringify(n));
    await page.click('#notify-toggle');
    await page.waitForSelector('#notify-toggle[aria-pressed="false"]');
    await smtpSend('ada@example.com', ['grace@example.com'], [mail('Quiet one')]);
    await rowIdBySubject(page, 'Quiet one');
    check('off again: no notification', (await page.evaluate(() => window.__notes.length)) === 1);
  });

  await step('unread badge in the favicon and title', async () => {
    const unread = (await apiJson('/api/v1/messages')).unread;
    await page.waitForFunction((u) => document.title === `(${u}) devmail`, unread);
    check('title carries the unread count', true);
    await page.waitForFunction(() => document.querySelector('#favicon').href.startsWith('data:image/png'));
    const px = await page.evaluate(async () => {
      const img = new Image();
      img.src = document.querySelector('#favicon').href;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = c.height = 64;
      const g = c.getContext('2d');
      g.drawImage(img, 0, 0);
      return [...g.getImageData(44, 3, 1, 1).data];
    });
    check('favicon has a red badge', px[0] > 180 && px[1] < 90 && px[2] < 90, px);
    await api('PUT', '/api/v1/messages', { Read: true });
    await page.waitForFunction(() => document.title === 'devmail');
    await page.waitForFunction(() => document.querySelector('#favicon').getAttribute('href') === '/favicon.svg');
    check('no unread: plain favicon and title', true);
  });

  await step('theme', async () => {
    const light = await bg(page, 'body');
    await page.selectOption('#theme-select', 'dark');
    await page.waitForFunction(() => getComputedStyle(document.body).backgroundColor === 'rgb(22, 24, 29)');
    check('dark chosen: the page is dark while the system is light', true);
    check('color-scheme follows', (await page.$eval('html', (e) => getComputedStyle(e).colorScheme)) === 'dark');
    await page.reload();
    await page.waitForSelector('#ws-status[data-state="live"]');
    check('the choice is remembered after a reload', (await page.inputValue('#theme-select')) === 'dark' &&
      (await bg(page, 'body')) === 'rgb(22, 24, 29)', await bg(page, 'body'));
    await api('PUT', '/api/v1/tags', { Tags: ['dark check'], IDs: [ids.inv2] });
    await page.waitForSelector(`${rowSel(ids.inv2)} .tag[data-tag="dark check"]`);
    const t = `${rowSel(ids.inv2)} .tag[data-tag="dark check"]`;
    const cd = contrast(await fg(page, t), await bg(page, t));
    check('tag text readable in dark (contrast >= 4.5)', cd >= 4.5, cd);
    await shot(page, 'list-dark');
    await page.selectOption('#theme-select', 'light');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForFunction((l) => getComputedStyle(document.body).backgroundColor === l, light);
    check('light chosen: the page stays light while the system is dark', true);
    await page.selectOption('#theme-select', 'system');
    await page.waitForFunction(() => getComputedStyle(document.body).backgroundColor === 'rgb(22, 24, 29)');
    check('system: follows the system (dark)', true);
    await page.emulateMedia({ colorScheme: 'light' });
    await page.waitForFunction((l) => getComputedStyle(document.body).backgroundColor === l, light);
    check('system: follows the system (light)', true);
  });

  await step('tags on a phone', async () => {
    const desktop = page.viewportSize();
    await page.setViewportSize({ width: 375, height: 740 });
    try {
      check('phone: the sidebar is not in the way', !(await page.isVisible('#tag-sidebar')));
      check('phone: a Tags button offers it, named and collapsed',
        (await page.isVisible('#tags-toggle')) && (await page.getAttribute('#tags-toggle', 'aria-expanded')) === 'false' &&
        (await page.getAttribute('#tags-toggle', 'aria-controls')) === 'tag-sidebar');
      await page.focus('#tags-toggle');
      await page.keyboard.press('Enter');
      await page.waitForSelector('#tag-sidebar.open', { state: 'visible' });
      const box = await page.locator('#tag-sidebar').boundingBox();
      check('phone: the drawer opens from the keyboard, within the screen',
        (await page.getAttribute('#tags-toggle', 'aria-expanded')) === 'true' && box && box.x >= 0 && box.width <= 375,
        JSON.stringify(box));
      check('phone: focus moves into the drawer',
        await page.evaluate(() => document.getElementById('tag-sidebar').contains(document.activeElement)));
      await shot(page, 'list-phone-tags');
      await page.click('#tag-list .tag-filter[data-tag="dark check"]');   // tagged on one message above
      await page.waitForFunction(() => document.querySelectorAll('#message-list .message-row').length === 1);
      check('phone: choosing a tag filters the list and closes the drawer',
        !(await page.isVisible('#tag-sidebar')) && (await page.inputValue('#search')) === 'tag:"dark check"');
      await page.click('#tags-toggle');
      await page.waitForSelector('#tag-sidebar.open', { state: 'visible' });
      await page.keyboard.press('Escape');
      await page.waitForSelector('#tag-sidebar', { state: 'hidden' });
      check('phone: Escape closes the drawer and gives focus back',
        (await page.evaluate(() => document.activeElement.id)) === 'tags-toggle');
      await page.click('#search-clear');
      await page.waitForFunction(() => document.querySelectorAll('#message-list .message-row').length > 1);
    } finally {
      await page.setViewportSize(desktop);
    }
    check('desktop: no Tags button, the sidebar is there', !(await page.isVisible('#tags-toggle')) &&
      (await page.isVisible('#tag-sidebar')));
  });

  check('no JavaScript errors on the page', pageErrors.length === 0, pageErrors.join(' | '));
} finally {
  await context.close().catch(() => {});
  fs.rmSync(userData, { recursive: true, force: true });
}

report(t0);
