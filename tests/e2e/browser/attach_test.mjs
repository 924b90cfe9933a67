// Browser test of the attachments of devmail's web page (web/attach.js) in
// headless Chromium (Debian's /usr/bin/chromium driven by npm
// playwright-core), against a real devmail holding the mail of
// tests/e2e/attach_mails.py (sent over SMTP by test_web_attach.py): an
// image, a PDF, an .ics invitation and a forwarded message that carries a
// file and another forwarded message.
//
// Usage: node attach_test.mjs HTTP_PORT EXPECT_JSON SCREENSHOT_DIR
//
// EXPECT_JSON is a file with what the user must see (subjects, names, the
// bytes of the parts in base64). The page runs in the America/New_York time
// zone, so the invitation written for 14:00 in Berlin must read 8:00 AM.
// Protocol as browser_test.mjs: the last stdout line is {ok, passed,
// failed, checks:[{name, ok, detail}], ms}; exit status 0 only when every
// check passed.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { check, report, step } from './lib.mjs';

const [httpPort, expectFile, shotDir] = process.argv.slice(2);
if (!httpPort || !expectFile || !shotDir) {
  console.error('usage: node attach_test.mjs HTTP_PORT EXPECT_JSON SCREENSHOT_DIR');
  process.exit(2);
}
const BASE = `http://127.0.0.1:${httpPort}`;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ACTION_TIMEOUT_MS = 8000;
const X = JSON.parse(fs.readFileSync(expectFile, 'utf8'));
const bytes = (b64) => Buffer.from(b64, 'base64');

const t0 = Date.now();

async function shot(page, name) {
  const file = path.join(shotDir, `${name}.png`);
  await page.screenshot({ path: file, animations: 'disabled' });
  check(`screenshot ${name}`, fs.statSync(file).size > 1000, 'screenshot is empty');
}
const visibleText = (page, sel) => page.locator(sel).first().innerText();
async function download(page, selector) {
  const [dl] = await Promise.all([page.waitForEvent('download'), page.click(selector)]);
  return { name: dl.suggestedFilename(), data: fs.readFileSync(await dl.path()) };
}
const li = (kind) => `#attachment-list li.attachment[data-kind="${kind}"]`;

fs.mkdirSync(shotDir, { recursive: true });
const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'devmail-chromium-'));
const context = await chromium.launchPersistentContext(userData, {
  executablePath: CHROMIUM,
  headless: true,
  viewport: { width: 1280, height: 900 },
  acceptDownloads: true,
  colorScheme: 'light',
  locale: 'en-US',
  timezoneId: 'America/New_York',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = context.pages()[0] || (await context.newPage());
page.setDefaultTimeout(ACTION_TIMEOUT_MS);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(String(e)));
page.on('console', (m) => {
  if (m.type() === 'error' && /\/(app|attach)\.js$/.test(m.location().url || '')) pageErrors.push(`console: ${m.text()}`);
});

try {
  await step('open the forwarded mail', async () => {
    await page.goto(BASE + '/');
    const row = page.locator('#message-list .message-row', { hasText: X.outer_subject });
    await row.click();
    await page.waitForSelector('#message-view:not([hidden])');
    await page.waitForSelector('#attachment-list li.attachment');
    check('message view opens with its attachments', true);
  });

  await step('attachment list', async () => {
    const rows = await page.$$eval('#attachment-list > li.attachment', (ls) => ls.map((l) => ({
      kind: l.dataset.kind,
      name: l.querySelector('a.attachment-link').textContent,
      size: l.querySelector('.attach-size').textContent,
      type: l.querySelector('.part-info').textContent,
      icon: !!l.querySelector('svg.attach-icon'),
      thumb: !!l.querySelector('img.attach-thumb'),
    })));
    const kinds = rows.map((r) => `${r.kind}:${r.name}`).join(' ');
    check('one entry per attachment, kind by content type', kinds === 'image:chart.png pdf:invoice.pdf calendar:invite.ics message:forwarded.eml', kinds);
    check('sizes shown', rows.every((r) => /^\d+(\.\d)? (B|kB|MB)$/.test(r.size)) && rows[1].size === X.pdf_size_text, JSON.stringify(rows.map((r) => r.size)));
    check('content types shown', rows.map((r) => r.type).join(',') === 'image/png,application/pdf,text/calendar,message/rfc822', rows.map((r) => r.type));
    check('an inline SVG icon for every non-image', rows.filter((r) => r.kind !== 'image').every((r) => r.icon && !r.thumb), JSON.stringify(rows));
    const icons = await page.$$eval('#attachment-list svg.attach-icon text', (t) => t.map((e) => e.textContent));
    check('icons are labelled by kind', icons.join(',') === 'PDF,ICS,EML', icons);
    check('icons are drawn (not empty)', (await page.locator(`${li('pdf')} svg.attach-icon`).boundingBox()).width >= 30, 'no size');
    // the thumbnail: loaded from the thumb route, a real image
    await page.waitForFunction((sel) => { const i = document.querySelector(sel); return i && i.complete && i.naturalWidth > 0; }, `${li('image')} img.attach-thumb`);
    const src = await page.getAttribute(`${li('image')} img.attach-thumb`, 'src');
    check('image thumbnail from /part/{PartID}/thumb', src.endsWith('/part/2/thumb'), src);
    const t = await fetch(BASE + src);
    const tb = Buffer.from(await t.arrayBuffer());
    check('thumbnail is a JPEG', t.headers.get('content-type') === 'image/jpeg' && tb[0] === 0xff && tb[1] === 0xd8, t.headers.get('content-type'));
  });

  await step('calendar card', async () => {
    await page.waitForSelector(`${li('calendar')} .calendar-card .cal-title`);
    const card = `${li('calendar')} .calendar-card`;
    check('card shows the title', (await visibleText(page, `${card} .cal-title`)) === X.invite_summary, await visibleText(page, `${card} .cal-title`));
    check('card shows the method as Invitation', (await visibleText(page, `${card} .cal-method`)).toLowerCase() === 'invitation', await visibleText(page, `${card} .cal-method`));
    const time = await visibleText(page, `${card} .cal-time`);
    // 14:00-15:30 in Berlin (CET) is 8:00-9:30 in New York (EST)
    check('time shown in local time (New York)', /Thu, Dec 10, 2026/.test(time) && /8:00\s?AM/.test(time) && /9:30\s?AM/.test(time) && /EST/.test(time), time);
    check('time zone of the invitation shown', (await visibleText(page, `${card} .cal-tz`)).includes('Europe/Berlin'), await visibleText(page, `${card} .cal-tz`));
    check('location shown', (await visibleText(page, `${card} .cal-location`)) === 'Location: Room 4, 2nd floor', await visibleText(page, `${card} .cal-location`));
    check('organiser shown', (await visibleText(page, `${card} .cal-organizer`)) === 'Organiser: Ann Organiser <ann@example.com>', await visibleText(page, `${card} .cal-organizer`));
    const start = await page.getAttribute(`${card} .cal-time`, 'data-start');
    check('card carries the UTC start', start === X.invite_start_utc, start);
    await page.locator(li('calendar')).scrollIntoViewIfNeeded();
    await shot(page, 'attach-list');
  });

  await step('PDF preview', async () => {
    await page.click(`${li('pdf')} button.attach-preview`);
    await page.waitForSelector('#attach-preview:not([hidden]) iframe#pdf-preview');
    const src = await page.getAttribute('#pdf-preview', 'src');
    check('PDF preview frame points at the part with ?preview=1', src.endsWith('/part/3?preview=1'), src);
    check('PDF preview title is the file name', (await visibleText(page, '#attach-preview-title')) === 'invoice.pdf', await visibleText(page, '#attach-preview-title'));
    check('PDF frame is not sandboxed (Chromium refuses PDFs there)', (await page.getAttribute('#pdf-preview', 'sandbox')) === null, 'sandbox set');
    const r = await fetch(new URL(src, BASE));
    const b = Buffer.from(await r.arrayBuffer());
    check('preview URL serves the PDF bytes', Buffer.compare(b, bytes(X.pdf_b64)) === 0 && b.subarray(0, 5).toString() === '%PDF-', `${b.length} bytes`);
    check('preview URL answers inline as application/pdf', r.headers.get('content-type') === 'application/pdf' &&
      r.headers.get('content-disposition').startsWith('inline') && !/sandbox/.test(r.headers.get('content-security-policy')),
      `${r.headers.get('content-type')} ${r.headers.get('content-disposition')}`);
    // the frame navigated to the PDF (it is not blocked by the page's CSP)
    const frame = await (await page.$('#pdf-preview')).contentFrame();
    await page.waitForFunction(() => document.querySelector('#pdf-preview').getBoundingClientRect().height > 300);
    check('PDF frame loaded the part URL', frame && frame.url().endsWith('/part/3?preview=1'), frame && frame.url());
    // Chromium's PDF viewer (an extension frame inside the preview frame);
    // headless Chromium loads it but may not draw the page itself
    const viewer = await (async () => {
      for (let i = 0; i < 40; i++) {
        const f = page.frames().find((x) => x.url().startsWith('chrome-extension://') && x.parentFrame() === frame);
        if (f) return f.url();
        await new Promise((r) => setTimeout(r, 250));
      }
      return null;
    })();
    check('Chromium\'s PDF viewer loads in the preview frame', viewer, page.frames().map((f) => f.url()).join(' '));
    await page.locator('#attach-preview').scrollIntoViewIfNeeded();
    await shot(page, 'attach-pdf');
    await page.click('#attach-preview-close');
    await page.waitForSelector('#attach-preview', { state: 'hidden' });
    check('closing the preview hides it', true);
  });

  await step('image lightbox', async () => {
    await page.click(`${li('image')} button.attach-preview`);
    await page.waitForSelector('#attach-lightbox[open]');
    await page.waitForFunction(() => { const i = document.querySelector('#lightbox-image'); return i.complete && i.naturalWidth > 0; });
    const dims = await page.$eval('#lightbox-image', (i) => [i.naturalWidth, i.naturalHeight, i.getBoundingClientRect().width]);
    check('lightbox shows the full image (60x40)', dims[0] === 60 && dims[1] === 40 && dims[2] > 0, dims);
    check('lightbox caption is the file name', (await visibleText(page, '#lightbox-caption')) === 'chart.png', await visibleText(page, '#lightbox-caption'));
    check('lightbox image is the part', (await page.getAttribute('#lightbox-image', 'src')).endsWith('/part/2?preview=1'), await page.getAttribute('#lightbox-image', 'src'));
    await shot(page, 'attach-lightbox');
    await page.keyboard.press('Escape');
    await page.waitForSelector('#attach-lightbox', { state: 'hidden' });
    check('Escape closes the lightbox, the message stays open', await page.isVisible('#message-view'), 'view closed');
  });

  await step('inline image in the lightbox', async () => {
    await page.waitForFunction(() => { const i = document.querySelector('#inline-images img.inline-image'); return i && i.complete && i.naturalWidth > 0; });
    await page.click('#inline-images img.inline-image');
    await page.waitForSelector('#attach-lightbox[open]');
    await page.waitForFunction(() => { const i = document.querySelector('#lightbox-image'); return i.complete && i.naturalWidth === 24; });
    check('a click on an inline image opens it in the lightbox', (await visibleText(page, '#lightbox-caption')) === 'logo.png', await visibleText(page, '#lightbox-caption'));
    await page.click('#lightbox-close');
    await page.waitForSelector('#attach-lightbox', { state: 'hidden' });
    check('the lightbox Close button closes it', true);
  });

  await step('download', async () => {
    const d = await download(page, `${li('pdf')} a.attachment-link`);
    check('PDF downloads with its name', d.name === 'invoice.pdf', d.name);
    check('downloaded PDF bytes are identical', Buffer.compare(d.data, bytes(X.pdf_b64)) === 0, `${d.data.length} bytes`);
  });

  await step('forwarded message', async () => {
    await page.click(`${li('message')} button.attach-open-message`);
    await page.waitForSelector('#attached-view:not([hidden])');
    check('attached message shown', (await visibleText(page, '#attached-subject')) === X.inner_subject, await visibleText(page, '#attached-subject'));
    const meta = await visibleText(page, '#attached-meta');
    check('its From and To shown', meta.includes('Dora Sender <dora@example.org>') && meta.includes('Erin <erin@example.org>'), meta);
    check('the outer message body is hidden meanwhile', !(await page.isVisible('#tabs')) && !(await page.isVisible('#html-frame')), 'outer still visible');
    check('crumb names the outer message', (await visibleText(page, '#attached-crumb')).includes(X.outer_subject), await visibleText(page, '#attached-crumb'));
    check('attached HTML frame is sandboxed', (await page.getAttribute('#attached-frame', 'sandbox')) === 'allow-popups allow-popups-to-escape-sandbox',
      await page.getAttribute('#attached-frame', 'sandbox'));
    const src = await page.getAttribute('#attached-frame', 'src');
    check('attached HTML from /view/{ID}/part/5.html', /\/view\/[^/]+\/part\/5\.html$/.test(src), src);
    const frame = await (await page.$('#attached-frame')).contentFrame();
    await frame.waitForSelector('#inner-heading');
    check('attached HTML rendered', (await frame.textContent('#inner-heading')) === 'Numbers are up', await frame.textContent('#inner-heading'));
    const names = await page.$$eval('#attached-attachments a.attachment-link', (a) => a.map((e) => e.textContent));
    check('its attachments listed', names.join(',') === 'notes.txt,first.eml', names);
    const d = await download(page, '#attached-attachments li[data-part-id="5.2"] a.attachment-link');
    check('its attachment downloads with the right bytes', d.name === 'notes.txt' && Buffer.compare(d.data, bytes(X.notes_b64)) === 0, `${d.name} ${d.data.length}`);
    await shot(page, 'attach-forwarded');
  });

  await step('nested and back', async () => {
    await page.click('#attached-attachments li[data-part-id="5.3"] button.attach-open-message');
    await page.waitForFunction((s) => document.querySelector('#attached-subject').textContent === s, X.innermost_subject);
    check('a message inside the forwarded one opens', true);
    check('text-only attached message shows its text', (await visibleText(page, '#attached-text')).includes('The very first message of the thread.') &&
      !(await page.isVisible('#attached-frame')), await visibleText(page, '#attached-text'));
    const back = await visibleText(page, '#attached-back');
    check('back button names the enclosing message', back.includes(X.inner_subject), back);
    await page.click('#attached-back');
    await page.waitForFunction((s) => document.querySelector('#attached-subject').textContent === s, X.inner_subject);
    check('back goes to the enclosing attached message', true);
    check('back button now names the outer message', (await visibleText(page, '#attached-back')).includes(X.outer_subject), await visibleText(page, '#attached-back'));
    await page.click('#attached-back');
    await page.waitForSelector('#attached-view', { state: 'hidden' });
    check('back again shows the outer message', await page.isVisible('#tabs') && await page.isVisible('#html-frame') &&
      (await visibleText(page, '#view-subject')) === X.outer_subject, await visibleText(page, '#view-subject'));
    check('outer attachments still listed', (await page.$$('#attachment-list > li.attachment')).length === 4, 'list changed');
  });

  await step('dark theme', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.waitForFunction(() => getComputedStyle(document.body).backgroundColor !== 'rgb(255, 255, 255)');
    const fill = await page.$eval(`${li('pdf')} svg.attach-icon .attach-sheet`, (p) => getComputedStyle(p).fill);
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    check('dark: icon sheets take the page background', fill === bg, `${fill} vs ${bg}`);
    await page.locator(li('calendar')).scrollIntoViewIfNeeded();
    await shot(page, 'attach-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  await step('phone layout', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator(li('calendar')).scrollIntoViewIfNeeded();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    check('phone: attachments fit the width', overflow <= 0, `${overflow}px too wide`);
    await shot(page, 'attach-phone');
  });

  check('no JavaScript errors on the page', pageErrors.length === 0, pageErrors.join(' | '));
} finally {
  await context.close().catch(() => {});
  fs.rmSync(userData, { recursive: true, force: true });
}

report(t0);
