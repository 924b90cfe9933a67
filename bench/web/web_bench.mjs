// Browser side of bench/web_bench.py: headless Chromium (Debian's
// /usr/bin/chromium via npm playwright-core, the browser tests' copy in
// build/browser_node) against a devmail that already holds the messages.
//
// Usage: node web_bench.mjs BASE_URL LOAD_RUNS SWITCHES
//
// Page load, LOAD_RUNS times, each in a fresh browser context (empty
// cache, a first visit): navigation start to first contentful paint, to
// the page's mark devmail:list-rendered with 50 rows, and to the frame
// after it (the list on screen: a rAF callback, then a task); the list
// API request's own time (Resource Timing); bytes transferred, split into
// the page's assets (document, scripts, styles, icon) and the API's JSON.
// Each load is then repeated in the same tab (a reload: warm cache and
// renderer). The renderer's main-thread CPU time of the first load (CDP
// Performance metrics, thread ticks) shows how much of the wall time is
// work and how much is waiting (a loaded machine).
// Before each load, the floor: a one-line data: page in a fresh context
// (what any page costs this browser on this machine).
// Switching, SWITCHES times on the last loaded page: click on another row
// to devmail:view-rendered for that message and to the frame after it,
// with the message API request's own time.
// Prints one JSON object on stdout.
import { chromium } from 'playwright-core';

const [base, loadRuns = '7', switches = '21'] = process.argv.slice(2);
if (!base) {
  console.error('usage: node web_bench.mjs BASE_URL LOAD_RUNS SWITCHES');
  process.exit(2);
}
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TIMEOUT_MS = 30000;

// In the page before its scripts: note when the frame after the first
// list render has been produced.
function initScript() {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.name === 'devmail:list-rendered' && !window.__listPainted &&
          document.querySelectorAll('#message-list .message-row').length > 0) {
        requestAnimationFrame(() => setTimeout(() => { window.__listPainted = performance.now(); }, 0));
      }
    }
  }).observe({ type: 'mark', buffered: true });
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
async function cpuNow(cdp) {
  const m = Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((x) => [x.name, x.value]));
  return { script: m.ScriptDuration * 1000, layout: m.LayoutDuration * 1000, style: m.RecalcStyleDuration * 1000,
    tasks: m.TaskDuration * 1000 };
}

// Wait for the 50-row list on screen and the load event, then read the
// timings; cpu: main-thread time of the renderer (thread CPU ticks) spent
// on this document.
async function measure(page, cdp) {
  await page.waitForFunction(() => window.__listPainted &&
    document.querySelectorAll('#message-list .message-row').length === 50);
  // the resources still loading (favicon) are counted once the load event is over
  await page.waitForFunction(() => performance.getEntriesByType('navigation')[0].loadEventEnd > 0);
  const cpu = cdp ? await cpuNow(cdp) : null;
  return { cpu, ...(await page.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0];
    const res = performance.getEntriesByType('resource').filter((e) => new URL(e.name).origin === location.origin);
    const fcp = performance.getEntriesByName('first-contentful-paint')[0];
    const mark = performance.getEntriesByName('devmail:list-rendered')[0];
    const apiE = res.find((e) => /\/api\/v1\/messages\?/.test(e.name));
    const isApi = (e) => /\/api\//.test(e.name);
    const assets = [nav, ...res.filter((e) => !isApi(e))];
    const sum = (list, k) => list.reduce((a, e) => a + (e[k] || 0), 0);
    return {
      fcp: fcp ? fcp.startTime : null,
      listRendered: mark.startTime,
      listPainted: window.__listPainted,
      documentDone: nav.responseEnd,
      domContentLoaded: nav.domContentLoadedEventEnd,
      api: apiE ? apiE.responseEnd - apiE.startTime : null,
      apiStart: apiE ? apiE.startTime : null,
      assets: assets.map((e) => ({ name: new URL(e.name).pathname, end: e.responseEnd, transfer: e.transferSize, encoded: e.encodedBodySize,
        decoded: e.decodedBodySize })),
      assetTransfer: sum(assets, 'transferSize'),
      assetEncoded: sum(assets, 'encodedBodySize'),
      assetDecoded: sum(assets, 'decodedBodySize'),
      apiTransfer: sum(res.filter(isApi), 'transferSize'),
      apiRequests: res.filter(isApi).map((e) => new URL(e.name).pathname + new URL(e.name).search),
      // every request of the load: when the browser wanted it, sent it, got its first and last byte
      waterfall: [nav, ...res].map((e) => ({ name: new URL(e.name).pathname, start: e.startTime, sent: e.requestStart,
        first: e.responseStart, end: e.responseEnd })),
    };
  })) };
}

// The browser's own floor on this machine: a one-line page in a fresh
// context, first contentful paint and main-thread CPU.
const FLOOR_PAGE = 'data:text/html,<!doctype html><meta charset=utf-8><title>t</title><p>devmail</p>';
async function floor() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
    await page.goto(FLOOR_PAGE);
    await page.waitForFunction(() => performance.getEntriesByName('first-contentful-paint').length > 0, null,
      { timeout: TIMEOUT_MS });
    const cpu = await cpuNow(cdp);
    return { cpu, fcp: await page.evaluate(() => performance.getEntriesByName('first-contentful-paint')[0].startTime) };
  } finally {
    await context.close();
  }
}

const floors = [];
const loads = [];
const reloads = [];
const switchRuns = [];
try {
  let page = null;
  let context = null;
  for (let r = 0; r < Number(loadRuns); r++) {
    if (context) await context.close();
    floors.push(await floor());
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT_MS);
    await page.addInitScript(initScript);
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
    await page.goto(base + '/');
    loads.push(await measure(page, cdp));
    await cdp.detach();   // (attached, it upsets playwright's frame tracking on reload)
    // the same page loaded again in the same tab (renderer process running, cache warm)
    await page.reload();
    reloads.push(await measure(page, null));
  }
  // switching between messages on the last page: rows 1, 2, ... in turn
  for (let i = 0; i < Number(switches); i++) {
    const row = 1 + (i % 49);
    switchRuns.push(await page.evaluate(async (n) => {
      const li = document.querySelectorAll('#message-list .message-row')[n];
      const id = li.dataset.id;
      const done = new Promise((resolve) => {
        const obs = new PerformanceObserver((list) => {
          for (const e of list.getEntries()) {
            if (e.name === 'devmail:view-rendered' && e.detail === id) { obs.disconnect(); resolve(e.startTime); }
          }
        });
        obs.observe({ type: 'mark' });
      });
      performance.clearResourceTimings();
      const t0 = performance.now();
      li.querySelector('.subject').click();
      const rendered = await done;
      const painted = await new Promise((r) => requestAnimationFrame(() => setTimeout(() => r(performance.now()), 0)));
      const apiE = performance.getEntriesByType('resource').find((e) => e.name.endsWith(`/api/v1/message/${encodeURIComponent(id)}`));
      return { rendered: rendered - t0, painted: painted - t0, api: apiE ? apiE.responseEnd - apiE.startTime : null };
    }, row));
  }
  await context.close();
} finally {
  await browser.close();
}
console.log(JSON.stringify({ floors, loads, reloads, switches: switchRuns }));
