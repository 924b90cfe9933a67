// Accessibility test of devmail's web page in headless Chromium: axe-core
// (npm, pinned in package.json) is injected into the page in several
// states and every violation of impact "serious" or "critical" fails; a
// keyboard walk presses Tab through the page and checks that it reaches
// every visible button, link and input and that each has an accessible
// name (computed by axe's own accessible-name code).
//
// Usage: node a11y_test.mjs HTTP_PORT SMTP_PORT SCREENSHOT_DIR
//
// The checks are generic (axe on the whole document, every control the
// page shows), so parts added to the page later are covered too. The
// mail's own HTML inside the sandboxed iframe is the sender's content, not
// the page's: axe does not descend into it (iframes: false), the frame
// element itself is checked (its title).
//
// Output protocol as browser_test.mjs: the last stdout line is
// {ok, passed, failed, checks:[{name, ok, detail}], ms}.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { check, report, step, smtpSend as smtpDeliver } from './lib.mjs';

const [httpPort, smtpPort, shotDir] = process.argv.slice(2);
if (!httpPort || !smtpPort || !shotDir) {
  console.error('usage: node a11y_test.mjs HTTP_PORT SMTP_PORT SCREENSHOT_DIR');
  process.exit(2);
}
const BASE = `http://127.0.0.1:${httpPort}`;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ACTION_TIMEOUT_MS = 10000;
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 375, height: 812 };
const FAIL_IMPACTS = new Set(['serious', 'critical']);
const AXE_SOURCE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const t0 = Date.now();

// mail goes in over SMTP (lib.mjs)
const smtpSend = (from, rcpts, messages) => smtpDeliver(smtpPort, 'a11y-test.example', from, rcpts, messages, ACTION_TIMEOUT_MS);

const date = () => new Date().toUTCString().replace('GMT', '+0000');
const RICH = 'Your invoice is ready';
const mails = [
  `From: Shop <shop@example.com>
To: Grace <grace@example.com>
Subject: ${RICH}
Date: ${date()}
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="mx"

--mx
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

Your invoice is attached. https://shop.example.com/invoice/1
--alt
Content-Type: text/html; charset=utf-8

<html><body><h1>Invoice</h1><p>Your invoice is attached. <a href="https://shop.example.com/invoice/1">View it online</a>.</p>
<p><img src="https://cdn.example.com/logo.png" alt="Shop logo"></p></body></html>
--alt--

--mx
Content-Type: application/pdf; name="invoice.pdf"
Content-Disposition: attachment; filename="invoice.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQKJSBhMTF5IHRlc3QKJSVFT0YK
--mx--
`,
  `From: Ada <ada@example.com>
To: Grace <grace@example.com>
Subject: Plain hello
Date: ${date()}

Just text.
`,
  `From: Linus <linus@example.com>
To: Grace <grace@example.com>
Cc: Team <team@example.com>
Subject: Meeting notes
Date: ${date()}

Notes of today.
`,
];

/* ---- axe and the keyboard walk ---------------------------------------- */

async function injectAxe(page) {
  if (await page.evaluate(() => typeof window.axe === 'object')) return;
  await page.addScriptTag({ content: AXE_SOURCE });
}

// Run axe on the whole document; one check per state, failing on any
// serious or critical violation (rule id, impact and the offending nodes
// in the detail).
async function axeCheck(page, state) {
  await injectAxe(page);
  const res = await page.evaluate(async () => {
    const r = await window.axe.run(document, { iframes: false, resultTypes: ['violations'] });
    return r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')} (${n.failureSummary.replace(/\s+/g, ' ').slice(0, 160)})`),
    }));
  });
  const bad = res.filter((v) => FAIL_IMPACTS.has(v.impact));
  const minor = res.filter((v) => !FAIL_IMPACTS.has(v.impact));
  if (minor.length) console.error(`note ${state}: minor: ${minor.map((v) => `${v.id}(${v.impact}) ${v.nodes.join('; ')}`).join(' | ')}`);
  check(`axe: no serious or critical violation (${state})`, bad.length === 0,
    bad.map((v) => `${v.id} [${v.impact}] ${v.help}: ${v.nodes.slice(0, 4).join('; ')}`).join(' || '));
  return res;
}

// Every control the user can see now: [{key, name, tag}] (key is a stable
// description used to match focus), computed in the page.
async function visibleControls(page) {
  await injectAxe(page);
  return page.evaluate(() => {
    const scope = document.querySelector('dialog[open]') || document;
    const sel = 'a[href], button, input, select, textarea, iframe, [tabindex]';
    const out = [];
    window.axe.setup(document);
    try {
      for (const e of scope.querySelectorAll(sel)) {
        if (e.disabled || e.closest('[hidden], [inert]')) continue;
        if (e.getAttribute('tabindex') === '-1') continue;   // reached by other keys (see its role)
        if (e.type === 'hidden' || !e.checkVisibility({ visibilityProperty: true })) continue;
        const r = e.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) continue;
        const vnode = window.axe.utils.getNodeFromTree(e);
        const name = e.tagName === 'IFRAME' ? (e.title || '') : window.axe.commons.text.accessibleTextVirtual(vnode);
        out.push({ key: window.__a11yKey(e), name: name.trim(), tag: e.tagName.toLowerCase() });
      }
    } finally {
      window.axe.teardown();
    }
    return out;
  });
}

async function installKey(page) {
  await page.evaluate(() => {
    window.__a11yKey = (e) => {
      if (!e || e === document.body) return 'body';
      let k = e.tagName.toLowerCase();
      if (e.id) return `${k}#${e.id}`;
      const row = e.closest('[data-id]');
      const cls = e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : '';
      const sibs = e.parentNode ? [...e.parentNode.children].indexOf(e) : 0;
      const up = e.parentElement && e.parentElement.id ? `#${e.parentElement.id}>` : '';
      return `${row ? `[data-id=${row.dataset.id}] ` : ''}${up}${k}${cls}:${sibs}:${(e.textContent || e.value || '').trim().slice(0, 30)}`;
    };
  });
}

// Press Tab from the top of the page (or the open dialog) until focus has
// visited every control or comes back round; returns the keys reached.
async function tabWalk(page, controls) {
  await installKey(page);
  await page.evaluate(() => {
    const d = document.querySelector('dialog[open]');
    if (!d && document.activeElement) document.activeElement.blur();
  });
  const seen = new Set();
  const order = [];
  const limit = controls.length * 2 + 40;
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    const k = await page.evaluate(() => window.__a11yKey(document.activeElement));
    if (!seen.has(k)) order.push(k);
    seen.add(k);
    if (controls.every((c) => seen.has(c.key))) break;
  }
  return { seen, order };
}

async function keyboardCheck(page, state) {
  await installKey(page);
  const controls = await visibleControls(page);
  const { seen } = await tabWalk(page, controls);
  const missed = controls.filter((c) => !seen.has(c.key)).map((c) => c.key);
  check(`keyboard: Tab reaches every control (${state}, ${controls.length} controls)`, missed.length === 0 && controls.length > 0,
    `not reached: ${missed.join(', ')}`);
  // a mouse-only control: shows a pointer cursor but neither it nor an
  // ancestor is focusable (the grid's rows are reached with the arrow keys)
  const mouseOnly = await page.evaluate(() => {
    const scope = document.querySelector('dialog[open]') || document.body;
    const focusable = 'a[href], button, input, select, textarea, label, summary, [tabindex], [role=grid]';
    const out = [];
    for (const e of scope.querySelectorAll('*')) {
      if (!e.checkVisibility({ visibilityProperty: true }) || getComputedStyle(e).cursor !== 'pointer') continue;
      if (e.closest(focusable)) continue;
      out.push(window.__a11yKey(e));
    }
    return out;
  });
  check(`keyboard: nothing clickable is out of keyboard reach (${state})`, mouseOnly.length === 0, `mouse only: ${mouseOnly.join(', ')}`);
  const unnamed = controls.filter((c) => !c.name).map((c) => c.key);
  check(`keyboard: every control has an accessible name (${state})`, unnamed.length === 0, `unnamed: ${unnamed.join(', ')}`);
  return controls;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(shotDir, `a11y-${name}.png`) });
}

/* ---- the test ------------------------------------------------------------ */

fs.mkdirSync(shotDir, { recursive: true });
const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'devmail-a11y-'));
const context = await chromium.launchPersistentContext(userData, {
  executablePath: CHROMIUM,
  headless: true,
  viewport: DESKTOP,
  colorScheme: 'light',
  acceptDownloads: true,
  bypassCSP: true,                 // axe is injected as a script tag
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = context.pages()[0] || (await context.newPage());
page.setDefaultTimeout(ACTION_TIMEOUT_MS);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));

try {
  await smtpSend('sender@example.com', 'grace@example.com', mails);
  await page.goto(BASE + '/');
  await page.waitForFunction((n) => document.querySelectorAll('#message-list .message-row').length >= n, mails.length);
  await page.waitForSelector('#ws-status[data-state=live]');

  await step('list', async () => {
    await axeCheck(page, 'list');
    await keyboardCheck(page, 'list');
    await shot(page, 'list');
  });

  await step('keyboard opens a message', async () => {
    // Tab to the list, move with the arrow key, open with Enter: no mouse
    await page.focus('#message-list');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#message-view:not([hidden])');
    check('keyboard: the focused list opens a message with Enter', !(await page.isHidden('#message-view')));
    const ad = await page.evaluate(() => {
      const ul = document.querySelector('#message-list');
      const id = ul.getAttribute('aria-activedescendant');
      const cur = document.querySelector('#message-list .message-row.current');
      return { id, cur: cur && cur.id };
    });
    check('screen reader: the list names its current row (aria-activedescendant)', ad.id && ad.id === ad.cur, JSON.stringify(ad));
    await page.keyboard.press('Escape');
    await page.waitForSelector('#message-view', { state: 'hidden' });
  });

  await step('message open, every tab', async () => {
    await page.click(`#message-list .message-row:has-text("${RICH}")`);
    await page.waitForSelector('#message-view:not([hidden])');
    await page.waitForSelector('#tabs .tab.active');
    const tabs = await page.$$eval('#tabs .tab[data-tab]', (ts) => ts.filter((t) => !t.hidden).map((t) => t.dataset.tab));
    check('message view shows tabs', tabs.length >= 4, tabs);
    for (const t of tabs) {
      await page.click(`#tabs .tab[data-tab="${t}"]`);
      await page.waitForFunction((n) => {
        const p = document.querySelector(`#message-view .tab-panel[data-panel="${n}"]`);
        return p && !p.hidden && (n === 'html' || n === 'text' || p.textContent.trim().length > 0);
      }, t);
      await page.waitForFunction(() => !document.body.dataset.loading);
      await axeCheck(page, `message, tab ${t}`);
      await shot(page, `message-${t}`);
    }
    await page.click('#tabs .tab[data-tab="html"]');
    await keyboardCheck(page, 'message open');
    const sel = await page.$$eval('#tabs .tab', (ts) => ts.filter((t) => !t.hidden).map((t) => [t.dataset.tab, t.getAttribute('aria-selected'), t.getAttribute('aria-controls')]));
    check('screen reader: tabs say which one is selected and the panel they control', sel.every(([, s, c]) => (s === 'true' || s === 'false') && c), JSON.stringify(sel));
  });

  await step('dialogs', async () => {
    await page.click('#setup-btn');
    await page.waitForSelector('#setup-dialog[open]');
    await page.waitForFunction(() => !/Loading/.test(document.querySelector('#setup-dialog').textContent));
    await axeCheck(page, 'setup dialog');
    await keyboardCheck(page, 'setup dialog');
    await shot(page, 'setup-dialog');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#setup-dialog', { state: 'hidden' });
    await page.click('#delete-all-btn');
    await page.waitForSelector('#confirm-dialog[open]');
    await axeCheck(page, 'confirm dialog');
    await keyboardCheck(page, 'confirm dialog');
    await shot(page, 'confirm-dialog');
    await page.click('#confirm-no');
    await page.waitForSelector('#confirm-dialog', { state: 'hidden' });
  });

  await step('connect a mail client', async () => {
    await page.click('#setup-btn');
    await page.waitForSelector('#setup-dialog[open] #setup-table tbody tr');
    const rows = () => page.$$eval('#setup-table tbody tr', (trs) => trs.map((tr) =>
      [...tr.children].map((c) => c.textContent)));
    let r = await rows();
    const smtp = r.find((x) => x[0] === 'Outgoing (SMTP)');
    check('setup table: a row for the SMTP listener with host, port and security',
      smtp && smtp[1] === '127.0.0.1' && smtp[2] === String(smtpPort) && smtp[3] === 'STARTTLS', JSON.stringify(r));
    check('setup table: the password hint says any password works (no passdb)',
      /any/.test(await page.textContent('#setup-password')), await page.textContent('#setup-password'));
    check('setup table: the headers name the columns', (await page.$$eval('#setup-table thead th', (t) => t.map((x) => x.textContent)))
      .join('|') === 'Server|Host name|Port|Security|User name|Authentication');
    await page.fill('#setup-address', 'grace@example.com');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /emailaddress=grace@example\.com$/.test(document.querySelector('#setup-mobileconfig').href));
    check('Enter in the address field keeps the dialog open', await page.isVisible('#setup-dialog[open]'));
    r = await rows();
    check('setup table: the typed address becomes the user name', r.length > 0 && r.every((x) => x[4] === 'grace@example.com' || x[4] === '(none)'),
      JSON.stringify(r));
    // (Chromium cancels .mobileconfig downloads as a dangerous type without
    // asking when headless: fetch what the link points to instead)
    const prof = await page.evaluate(async () => {
      const a = document.querySelector('#setup-mobileconfig');
      const r = await fetch(a.href);
      return { download: a.hasAttribute('download'), type: r.headers.get('content-type'),
        disp: r.headers.get('content-disposition'), text: await r.text() };
    });
    check('the Apple profile link gives a plist for the typed address',
      prof.download && prof.type === 'application/x-apple-aspen-config' && /devmail\.mobileconfig/.test(prof.disp)
        && prof.text.includes('<plist') && prof.text.includes('<string>grace@example.com</string>'),
      `${prof.type} ${prof.disp} ${prof.text.slice(0, 200)}`);
    const ca = await page.evaluate(async () => {
      const a = document.querySelector('#setup-ca');
      return { hidden: a.hidden, text: await (await fetch(a.href)).text() };
    });
    check('the local CA certificate is linked', !ca.hidden && ca.text.startsWith('-----BEGIN CERTIFICATE-----'), ca.text.slice(0, 80));
    await page.fill('#setup-address', 'not an address');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /Could not load/.test(document.querySelector('#setup-status').textContent));
    check('a bad address says why', /emailaddress/.test(await page.textContent('#setup-status')), await page.textContent('#setup-status'));
    await page.fill('#setup-address', 'grace@example.com');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('#setup-status').textContent === '');
    await axeCheck(page, 'setup dialog with an address');
    await shot(page, 'setup-table');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#setup-dialog', { state: 'hidden' });
  });

  await step('dark', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.keyboard.press('Escape');
    await page.waitForSelector('#message-view', { state: 'hidden' });
    await axeCheck(page, 'dark, list');
    await shot(page, 'dark-list');
    await page.click(`#message-list .message-row:has-text("${RICH}")`);
    await page.waitForSelector('#message-view:not([hidden])');
    await axeCheck(page, 'dark, message');
    await shot(page, 'dark-message');
    await page.keyboard.press('Escape');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  await step('phone', async () => {
    await page.setViewportSize(PHONE);
    await page.waitForSelector('#message-view', { state: 'hidden' });
    await axeCheck(page, 'phone, list');
    await keyboardCheck(page, 'phone, list');
    await shot(page, 'phone-list');
    await page.click(`#message-list .message-row:has-text("${RICH}")`);
    await page.waitForSelector('#message-view:not([hidden])');
    await axeCheck(page, 'phone, message');
    await keyboardCheck(page, 'phone, message');
    await shot(page, 'phone-message');
    await page.keyboard.press('Escape');
    await page.setViewportSize(DESKTOP);
  });

  check('no JavaScript errors on the page', pageErrors.length === 0, pageErrors.join(' | '));
} finally {
  await context.close().catch(() => {});
  fs.rmSync(userData, { recursive: true, force: true });
}

report(t0);
