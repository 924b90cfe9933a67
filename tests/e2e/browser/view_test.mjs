// Browser test of the message view's workbench (web/view.js): device
// widths and the dark preview of the mail, the HTML check / links / spam
// / lint tabs, the highlighted source, downloads, print view and copying
// a header, in headless Chromium (Debian's /usr/bin/chromium driven by
// npm playwright-core).
//
// Usage: node view_test.mjs HTTP_OFF HTTP_ON LINKS_PORT SCREENSHOT_DIR
//
// HTTP_OFF is a devmail with the optional checks off (no spamassassin,
// link_check_allowed empty), HTTP_ON one with a (fake) spamd and
// link_check_allowed = 127.0.0.1; test_web_view.py has put the mails in
// both. LINKS_PORT is a loopback HTTP server the mail links to (/ok
// answers 200, /missing 404; /__hits lists the paths it was asked for).
// The last line of stdout is one JSON object {ok, passed, failed,
// checks:[{name, ok, detail}], ms}; the exit status is 0 only when every
// check passed.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';
import { check, report, step } from './lib.mjs';

const [offPort, onPort, linksPort, shotDir] = process.argv.slice(2);
if (!offPort || !onPort || !linksPort || !shotDir) {
  console.error('usage: node view_test.mjs HTTP_OFF HTTP_ON LINKS_PORT SCREENSHOT_DIR');
  process.exit(2);
}
const OFF = `http://127.0.0.1:${offPort}`;
const ON = `http://127.0.0.1:${onPort}`;
const LINKS = `http://127.0.0.1:${linksPort}`;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const T = 10000;               // longest wait for one condition (a loaded 2-core box)
const DESKTOP = { width: 1400, height: 900 };
const NEWSLETTER = 'Spring newsletter';
const PLAIN = 'Plain text only';

const t0 = Date.now();

async function apiJson(base, p) {
  const r = await fetch(base + p);
  if (!r.ok) throw new Error(`${p}: ${r.status}`);
  return r.json();
}
async function idOf(base, subject) {
  const r = await apiJson(base, `/api/v1/search?query=${encodeURIComponent(`subject:"${subject}"`)}`);
  if (!r.messages || !r.messages.length) throw new Error(`no message "${subject}"`);
  return r.messages[0].ID;
}
async function linkHits() { return (await fetch(`${LINKS}/__hits`)).json(); }
const shot = async (page, name) => page.screenshot({ path: path.join(shotDir, `view-${name}.png`) });

// The sandboxed mail frame once it shows /view/{id}.html with exactly the
// given query (playwright evaluates in it although its scripts are off).
async function mailFrame(page, id, query = '') {
  const want = `/view/${encodeURIComponent(id)}.html${query}`;
  await page.waitForFunction((w) => document.querySelector('#html-frame').src.endsWith(w), want, { timeout: T });
  const frame = await (await page.$('#html-frame')).contentFrame();
  await frame.waitForURL((u) => u.href.endsWith(want), { timeout: T });
  await frame.waitForLoadState('load');
  return frame;
}
async function openMsg(page, base, id) {
  await page.goto(`${base}/#${encodeURIComponent(id)}`);
  await page.waitForSelector(`#message-view[data-id="${id}"]:not([hidden])`, { timeout: T });
}
async function tab(page, name) {
  await page.click(`#tabs .tab[data-tab="${name}"]`);
  await page.waitForSelector(`.tab-panel[data-panel="${name}"]:not([hidden])`, { timeout: T });
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
try {
  const ctx = await browser.newContext({ viewport: DESKTOP, acceptDownloads: true, colorScheme: 'light' });
  ctx.setDefaultTimeout(T);   // a missing element fails its step, not the whole run
  await ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: ON });
  const page = await ctx.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const id = await idOf(ON, NEWSLETTER);
  const m = await apiJson(ON, `/api/v1/message/${id}`);

  /* ---- 1. preview ---- */
  await step('device widths', async () => {
    await openMsg(page, ON, id);
    let f = await mailFrame(page, id);
    check('preview bar shows four widths and three schemes',
      (await page.$$('#preview-bar .device-btn')).length === 4 && (await page.$$('#preview-bar .scheme-btn')).length === 3);
    for (const [dev, w] of [['desktop', 1200], ['tablet', 768], ['phone', 375]]) {
      await page.click(`#preview-bar .device-btn[data-device="${dev}"]`);
      await page.waitForFunction((d) => document.querySelector('#frame-box').dataset.device === d, dev, { timeout: T });
      f = await mailFrame(page, id);
      const inner = await f.evaluate(() => window.innerWidth);
      check(`${dev}: the mail's viewport is ${w} px wide`, inner === w, `innerWidth ${inner}`);
      check(`${dev}: its button is pressed`,
        await page.getAttribute(`#preview-bar .device-btn[data-device="${dev}"]`, 'aria-pressed') === 'true');
    }
    const stacked = await f.evaluate(() => getComputedStyle(document.getElementById('col-b')).display);
    check('phone: the mail\'s own @media (max-width: 600px) rule applies', stacked === 'block', stacked);
    await shot(page, 'phone');
    await page.reload();
    await page.waitForSelector(`#message-view[data-id="${id}"]:not([hidden])`, { timeout: T });
    f = await mailFrame(page, id);
    const remembered = await f.evaluate(() => window.innerWidth);
    check('the chosen width is remembered after a reload (localStorage)',
      remembered === 375 && await page.evaluate(() => localStorage.getItem('devmail.device')) === 'phone', remembered);
    await page.click('#preview-bar .device-btn[data-device="fit"]');
    await page.waitForFunction(() => document.querySelector('#frame-box').dataset.device === 'fit', null, { timeout: T });
    const fit = await page.$eval('#html-frame', (e) => [e.getBoundingClientRect().width, e.parentNode.clientWidth]);
    check('fit: the frame is as wide as the pane', Math.abs(fit[0] - fit[1]) <= 2, JSON.stringify(fit));
  });

  await step('dark preview', async () => {
    await page.emulateMedia({ colorScheme: 'light' });
    let f = await mailFrame(page, id);
    const bgOf = (fr) => fr.evaluate(() => getComputedStyle(document.body).backgroundColor);
    check('light OS, System: the mail shows its light colours', await bgOf(f) === 'rgb(255, 255, 255)', await bgOf(f));
    await page.click('#preview-bar .scheme-btn[data-scheme="dark"]');
    f = await mailFrame(page, id, '?scheme=dark');
    const dark = await bgOf(f);
    check('Dark: the mail\'s own prefers-color-scheme: dark rule takes effect in the sandboxed frame',
      dark === 'rgb(10, 20, 30)', dark);
    const fg = await f.evaluate(() => getComputedStyle(document.querySelector('h1')).color);
    check('Dark: the mail\'s dark text colour too', fg === 'rgb(250, 250, 250)', fg);
    check('Dark: the frame is still sandboxed without scripts',
      !(await page.getAttribute('#html-frame', 'sandbox')).includes('allow-scripts'));
    await shot(page, 'dark');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.click('#preview-bar .scheme-btn[data-scheme="light"]');
    f = await mailFrame(page, id, '?scheme=light');
    check('dark OS, Light: the mail\'s dark rule does not apply', await bgOf(f) === 'rgb(255, 255, 255)', await bgOf(f));
    await page.click('#preview-bar .scheme-btn[data-scheme="system"]');
    f = await mailFrame(page, id);
    check('dark OS, System: the browser itself applies the mail\'s dark rule', await bgOf(f) === 'rgb(10, 20, 30)', await bgOf(f));
    await page.emulateMedia({ colorScheme: 'light' });
    await page.click('#preview-bar .scheme-btn[data-scheme="dark"]');
    await page.reload();
    await page.waitForSelector(`#message-view[data-id="${id}"]:not([hidden])`, { timeout: T });
    await mailFrame(page, id, '?scheme=dark');
    check('the chosen scheme is remembered after a reload',
      await page.evaluate(() => localStorage.getItem('devmail.scheme')) === 'dark');
    const hits = await linkHits();
    check('remote images stay blocked in every preview (nothing fetched)', hits.length === 0, JSON.stringify(hits));
    check('the remote-images bar is still offered', await page.isVisible('#remote-bar'));
    await page.click('#preview-bar .scheme-btn[data-scheme="system"]');
    await mailFrame(page, id);
  });

  /* ---- 2. checks ---- */
  await step('HTML check', async () => {
    await tab(page, 'check');
    await page.waitForSelector('#check-list .check-item', { timeout: T });
    const score = await page.textContent('#check-score');
    check('HTML check: a score in percent is shown', /\d+ % supported/.test(score), score);
    const api = await apiJson(ON, `/api/v1/message/${id}/html-check`);
    check('HTML check: one item per warning of the API',
      (await page.$$('#check-list .check-item')).length === api.Warnings.length);
    const flexLine = m.HTML.split('\n').findIndex((l) => l.includes('display: flex')) + 1;
    const item = await page.$('#check-list .check-item[data-slug="css-display-flex"]');
    check('HTML check: display:flex is listed with its source line',
      item && await item.getAttribute('data-line') === String(flexLine), flexLine);
    const clients = await item.$eval('.check-clients', (e) => e.textContent);
    const lacking = api.Warnings.find((w) => w.Slug === 'css-display-flex').Results.filter((r) => r.Support === 'no');
    check('HTML check: the clients that lack the feature are named',
      lacking.length > 0 && clients.includes('Not supported') && clients.includes(lacking[0].Name), clients);
    await shot(page, 'check');
    await (await item.$('.check-goto')).click();
    await page.waitForSelector('#source-view .src-line.hl', { timeout: T });
    const hl = await page.$eval('#source-view .src-line.hl', (e) => {
      const r = e.getBoundingClientRect();
      return { line: e.dataset.line, text: e.textContent, visible: r.top >= 0 && r.bottom <= innerHeight,
        bg: getComputedStyle(e).backgroundColor };
    });
    check('clicking a finding opens the source at its line, highlighted and scrolled into view',
      hl.line === String(flexLine) && hl.text.includes('display: flex') && hl.visible && hl.bg !== 'rgba(0, 0, 0, 0)',
      JSON.stringify(hl));
    check('the Source tab is the active one', await page.getAttribute('#tab-source', 'aria-selected') === 'true');
  });

  await step('source view', async () => {
    const n = await page.$$eval('#source-view .src-line', (e) => e.length);
    check('source: one numbered line per line of the HTML', n === m.HTML.split('\n').length, `${n}`);
    const colours = await page.evaluate(() => {
      const tag = document.querySelector('#source-view .hljs-name');
      const attr = document.querySelector('#source-view .hljs-attr');
      const line = document.querySelector('#source-view .src-line');
      return tag && attr && [getComputedStyle(tag).color, getComputedStyle(attr).color, getComputedStyle(line).color];
    });
    check('source: tag names and attributes are highlighted in their own colours (highlight.js)',
      colours && colours[0] !== colours[2] && colours[1] !== colours[2] && colours[0] !== colours[1], JSON.stringify(colours));
    const text = await page.$eval('#source-view', (e) => [...e.querySelectorAll('.src-line')].map((l) => l.textContent.replace(/\n$/, '')).join('\n'));
    check('source: the text is the HTML part exactly', text === m.HTML, text.slice(0, 200));
    const active = await page.$$eval('#source-view *', (els) => els.filter((e) => !['SPAN'].includes(e.tagName)).map((e) => e.tagName));
    check('source: the mail\'s markup is shown, never parsed into the page (only spans)', active.length === 0, active.join());
    check('source: the page title is untouched (no script ran)', !(await page.title()).includes('PWNED'), await page.title());
    await shot(page, 'source');
  });

  await step('links', async () => {
    await tab(page, 'links');
    const intro = await page.textContent('#link-summary');
    check('links: nothing is checked before the button is pressed', (await linkHits()).length === 0 && intro.includes('link_check_allowed'), intro);
    await page.click('#link-check-btn');
    await page.waitForSelector('#link-list .link-item', { timeout: T * 2 });
    const rows = await page.$$eval('#link-list .link-item', (els) => els.map((e) => ({
      url: e.querySelector('.link-url').textContent, code: e.querySelector('.link-code').textContent, st: e.dataset.status })));
    const ok = rows.find((r) => r.url === `${LINKS}/ok`);
    const missing = rows.find((r) => r.url === `${LINKS}/missing`);
    check('links: a working link shows 200, ok', ok && ok.code === '200' && ok.st === 'ok', JSON.stringify(rows));
    check('links: a broken link shows 404, marked bad', missing && missing.code === '404' && missing.st === 'bad', JSON.stringify(rows));
    check('links: the summary counts the errors', /checked, [1-9]\d* with errors/.test(await page.textContent('#link-summary')));
    const hits = await linkHits();
    check('links: the loopback server was asked for them', hits.includes('/ok') && hits.includes('/missing'), JSON.stringify(hits));
    await shot(page, 'links');
  });

  await step('spam', async () => {
    await tab(page, 'spam');
    await page.waitForSelector('#spam-score', { timeout: T * 2 });
    const s = await page.textContent('#spam-score');
    check('spam: spamd\'s score and verdict', s.includes('7.5') && /spam/.test(s) && !/not spam/.test(s), s);
    const rules = await page.$$eval('#spam-rules tr', (trs) => trs.map((t) => t.textContent));
    check('spam: its rules with scores and descriptions',
      rules.some((r) => r.includes('FAKE_PILLS') && r.includes('5') && r.includes('Mentions a pill')), JSON.stringify(rules));
    await shot(page, 'spam');
  });

  await step('lint', async () => {
    await tab(page, 'lint');
    await page.waitForSelector('#lint-summary', { timeout: T });
    const api = await apiJson(ON, `/api/v1/message/${id}/lint`);
    const sum = await page.textContent('#lint-summary');
    check('lint: the counts of the API', sum.startsWith(`${api.Errors} errors, ${api.Warnings} warnings`), sum);
    const items = await page.$$eval('#lint-list .lint-item', (els) => els.map((e) => e.querySelector('.lint-code').textContent));
    check('lint: every finding listed by its code', items.length === api.Findings.length &&
      api.Findings.every((f, i) => items[i] === f.Code), JSON.stringify(items));
    await shot(page, 'lint');
  });

  /* ---- 3. source: headers, raw, downloads, print ---- */
  await step('headers and copy', async () => {
    await tab(page, 'headers');
    await page.waitForSelector('#headers-view tbody tr .copy-btn', { timeout: T });
    const row = page.locator('#headers-view tbody tr', { has: page.locator('th', { hasText: /^Subject$/ }) });
    await row.locator('.copy-btn').click();
    await page.waitForFunction(() => [...document.querySelectorAll('.copy-btn')].some((b) => b.textContent === 'Copied'), null, { timeout: T });
    const clip = await page.evaluate(() => navigator.clipboard.readText());
    check('copy: the Subject value is on the clipboard', clip === NEWSLETTER, clip);
    const named = await row.locator('.copy-btn').getAttribute('aria-label');
    check('copy: the button is named for screen readers', named === 'Copy Subject', named);
    await shot(page, 'headers');
    await tab(page, 'raw');
    await page.waitForSelector('#raw-view .hljs-attribute', { timeout: T });
    const names = await page.$$eval('#raw-view .hljs-attribute', (e) => e.map((x) => x.textContent));
    check('raw: the header names are highlighted', names.includes('Subject') && names.includes('From'), names.join());
    const raw = await (await fetch(`${ON}/api/v1/message/${id}/raw`)).text();
    check('raw: still the whole message as text', (await page.textContent('#raw-view')) === raw.replace(/\r/g, ''));
  });

  await step('downloads', async () => {
    const cases = [
      ['#download-raw', `${id}.eml`, Buffer.from(await (await fetch(`${ON}/api/v1/message/${id}/raw`)).arrayBuffer())],
      ['#download-html', `${id}.html`, Buffer.from(m.HTML, 'utf8')],
      ['#download-txt', `${id}.txt`, Buffer.from(m.Text, 'utf8')],
    ];
    for (const [sel, name, want] of cases) {
      const [dl] = await Promise.all([page.waitForEvent('download', { timeout: T }), page.click(sel)]);
      const got = fs.readFileSync(await dl.path());
      check(`download ${name.slice(name.lastIndexOf('.'))}: named ${name}`, dl.suggestedFilename() === name, dl.suggestedFilename());
      check(`download ${name.slice(name.lastIndexOf('.'))}: the bytes are the message's`, got.equals(want),
        `${got.length} bytes vs ${want.length}: ${got.toString('utf8', 0, 80)}`);
    }
  });

  await step('print view', async () => {
    const [pp] = await Promise.all([ctx.waitForEvent('page', { timeout: T }), page.click('#print-btn')]);
    await pp.waitForLoadState('load');
    check('print: opened at /view/{ID}.html?print=1', pp.url().endsWith(`/view/${id}.html?print=1`), pp.url());
    const head = await pp.textContent('#devmail-print-head');
    check('print: the headers above the body', head.includes(NEWSLETTER) && head.includes('news@shop.example') &&
      head.includes('reader@example.com') && head.includes('Date'), head);
    check('print: the body below', (await pp.textContent('h1')).includes('Spring'));
    await pp.emulateMedia({ media: 'print' });
    await pp.screenshot({ path: path.join(shotDir, 'view-print.png'), fullPage: true });
    const pdf = await pp.pdf({ format: 'A4' });
    check('print: Chromium prints it (a PDF)', pdf.subarray(0, 5).toString() === '%PDF-' && pdf.length > 2000, pdf.length);
    await pp.close();
  });

  /* ---- the checks when off: the other devmail ---- */
  await step('tabs move with the arrow keys', async () => {
    await openMsg(page, ON, id);
    await tab(page, 'html');
    const names = await page.$$eval('#tabs .tab', (ts) => ts.filter((t) => !t.hidden).map((t) => t.dataset.tab));
    const state = () => page.evaluate(() => ({
      focused: document.activeElement.dataset.tab || '',
      selected: [...document.querySelectorAll('#tabs .tab[aria-selected="true"]')].map((t) => t.dataset.tab),
      stops: [...document.querySelectorAll('#tabs .tab')].filter((t) => !t.hidden && t.tabIndex === 0).length,
    }));
    await page.focus('#tabs .tab[data-tab="html"]');
    const moves = [['ArrowRight', names[1]], ['End', names[names.length - 1]], ['ArrowRight', names[0]],
                   ['ArrowLeft', names[names.length - 1]], ['Home', names[0]]];
    for (const [key, want] of moves) {
      await page.keyboard.press(key);
      await page.waitForSelector(`.tab-panel[data-panel="${want}"]:not([hidden])`, { timeout: T });
      const st = await state();
      check(`tabs: ${key} selects and focuses ${want}`, st.focused === want && st.selected.join() === want,
            JSON.stringify(st));
      check(`tabs: after ${key} the tablist is one tab stop`, st.stops === 1, JSON.stringify(st));
    }
    check('tabs: the message is still open (the list keys did not take the arrows)',
          await page.isVisible('#message-view:not([hidden])'));
  });

  await step('checks off explain themselves', async () => {
    const offId = await idOf(OFF, NEWSLETTER);
    const plainId = await idOf(OFF, PLAIN);
    const p2 = await ctx.newPage();
    await openMsg(p2, OFF, offId);
    await tab(p2, 'spam');
    await p2.waitForSelector('.tab-panel[data-panel="spam"] .check-off', { timeout: T });
    const spam = await p2.textContent('.tab-panel[data-panel="spam"] .check-off');
    check('spam off: says the check is not enabled and how to turn it on',
      spam.includes('SpamAssassin check not enabled') && spam.includes('spamassassin'), spam);
    await shot(p2, 'spam-off');
    await tab(p2, 'links');
    await p2.click('#link-check-btn');
    await p2.waitForSelector('#link-summary .check-off', { timeout: T * 2 });
    const links = await p2.textContent('#link-summary');
    check('links off: says link_check_allowed is empty', links.includes('Link checking is off') && links.includes('link_check_allowed'), links);
    await openMsg(p2, OFF, plainId);
    await tab(p2, 'check');
    await p2.waitForSelector('.tab-panel[data-panel="check"] .check-off', { timeout: T });
    const hc = await p2.textContent('.tab-panel[data-panel="check"] .check-off');
    check('HTML check on a text mail: says there is no HTML to check', hc.includes('does not contain HTML'), hc);
    await tab(p2, 'source');
    const src = await p2.textContent('.tab-panel[data-panel="source"] .check-off');
    check('source of a text mail: says there is no HTML part', src.includes('no HTML part'), src);
    check('a text mail offers no .html download', await p2.isHidden('#download-html'));
    await p2.close();
  });

  check('no script errors on the page', errors.length === 0, errors.join(' | '));
  await ctx.close();
} finally {
  await browser.close();
}

report(t0);
