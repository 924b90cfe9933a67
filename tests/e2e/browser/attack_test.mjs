// Hostile web pages against devmail's HTTP API, in headless Chromium
// (Debian's /usr/bin/chromium driven by npm playwright-core).
//
// Usage: node attack_test.mjs HTTP_PORT EVIL_PORT VIEW_ID
//
// EVIL_PORT is a loopback HTTP server run by the Python side
// (test_web_attacks.py) that serves the attacker's pages and records
// every path asked of it. The browser maps the names evil.test and
// rebind.test to 127.0.0.1, so "http://evil.test:EVIL_PORT/" is another
// site, and "http://rebind.test:HTTP_PORT/" is what a DNS-rebinding
// attack looks like to the server. VIEW_ID is a stored message whose
// HTML carries a <meta http-equiv=refresh> to the evil server.
//
// This script only attacks and observes; the Python side asserts on
// what devmail stored. The last line of stdout is one JSON object.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [httpPort, evilPort, viewId] = process.argv.slice(2);
if (!httpPort || !evilPort || !viewId) {
  console.error('usage: node attack_test.mjs HTTP_PORT EVIL_PORT VIEW_ID');
  process.exit(2);
}
const DEVMAIL = `http://127.0.0.1:${httpPort}`;
const EVIL = `http://evil.test:${evilPort}`;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const out = {};

const userData = fs.mkdtempSync(path.join(os.tmpdir(), 'devmail-chromium-'));
const context = await chromium.launchPersistentContext(userData, {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--host-resolver-rules=MAP evil.test 127.0.0.1, MAP rebind.test 127.0.0.1'],
});
const page = context.pages()[0] || (await context.newPage());
page.setDefaultTimeout(10000);

try {
  // 1. the attacker's page fires every injection it can at the API
  await page.goto(`${EVIL}/attack.html`);
  out.attack = await page.evaluate(async ({ api }) => {
    const r = {};
    const mail = JSON.stringify({ From: { Email: 'evil@evil.test' }, To: [{ Email: 'victim@example.com' }],
      Subject: 'injected', Text: 'injected' });
    // fetch without CORS: the answer is opaque, but the request is sent
    try {
      await fetch(`${api}/api/v1/send`, { method: 'POST', mode: 'no-cors', body: mail,
        headers: { 'Content-Type': 'text/plain' } });
      r.nocors = 'sent';
    } catch (e) { r.nocors = `error ${e}`; }
    // a CORS JSON request: the preflight must be refused
    try {
      const x = await fetch(`${api}/api/v1/send`, { method: 'POST', body: mail,
        headers: { 'Content-Type': 'application/json' } });
      r.cors = `status ${x.status}`;
    } catch (e) { r.cors = 'blocked'; }
    // mark as read by asking for the summary from an <img>
    await new Promise((done) => {
      const img = new Image();
      img.onload = img.onerror = done;
      img.src = `${api}/api/v1/message/latest`;
    });
    // the event stream from another origin
    r.ws = await new Promise((done) => {
      const ws = new WebSocket(`${api.replace('http', 'ws')}/api/events`);
      const t = setTimeout(() => done('timeout'), 3000);
      ws.onopen = () => { clearTimeout(t); ws.close(); done('open'); };
      ws.onerror = () => { clearTimeout(t); done('refused'); };
    });
    return r;
  }, { api: DEVMAIL });
  // an HTML form, text/plain, submitted into a frame (the classic CSRF)
  await page.evaluate(({ api }) => {
    const f = document.createElement('form');
    f.method = 'POST';
    f.enctype = 'text/plain';
    f.action = `${api}/api/v1/send`;
    f.target = 'sink';
    const i = document.createElement('input');
    i.name = '{"From":{"Email":"evil@evil.test"},"To":[{"Email":"victim@example.com"}],"Subject":"form","Text":"x","a":"';
    i.value = '"}';
    f.appendChild(i);
    const fr = document.createElement('iframe');
    fr.name = 'sink';
    document.body.appendChild(fr);
    document.body.appendChild(f);
    f.submit();
  }, { api: DEVMAIL });
  await sleep(1500);

  // 2. DNS rebinding: the same server under the attacker's name
  try {
    const resp = await page.goto(`http://rebind.test:${httpPort}/api/v1/messages`);
    out.rebind_status = resp ? resp.status() : null;
    out.rebind_body = resp ? (await resp.text()).slice(0, 200) : '';
  } catch (e) { out.rebind_status = `error ${e}`; }

  // 3. a mail opened directly in a tab: its meta refresh must not navigate
  const viewUrl = `${DEVMAIL}/view/${encodeURIComponent(viewId)}.html`;
  await page.goto(viewUrl);
  await sleep(2500);
  out.view_url_after = page.url();
  out.view_expected = viewUrl;
} catch (e) {
  out.error = String(e && e.stack ? e.stack : e);
} finally {
  await context.close();
  fs.rmSync(userData, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
