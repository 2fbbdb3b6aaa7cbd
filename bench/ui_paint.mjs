// Paint and load times of web UI pages in headless Chromium, as a phone on a slow CPU sees them:
// 390 × 844 with mobile emulation (touch, 3 device pixels per CSS pixel), the CPU slowed 4×
// (CDP Emulation.setCPUThrottlingRate). UI_PAINT_CPU_SLOWDOWN and UI_PAINT_DPR change those.
//
//   node bench/ui_paint.mjs BASE_URL PATH... (env CRM_BENCH_COOKIE: the crm_session value)
//
// Each page is loaded UI_PAINT_RUNS times (10), each time in a fresh tab of one browser context
// (so the HTTP cache holds the assets after the first load, as for a returning user); the first
// load is a warm-up and is discarded. Prints one table: median and p90 (nearest rank) of first
// contentful paint and of loadEventEnd - startTime (navigation timing), in milliseconds, and the
// median time to the first byte of the HTML (responseStart), the server's and network's share.
// Needs `PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix $HOME/.cache/crm-tools
// playwright-core@1.65.2` (no browser download: it drives Debian's /usr/bin/chromium, or
// CHROMIUM).
import { createRequire } from 'node:module';

const require = createRequire(`${process.env.HOME}/.cache/crm-tools/`);
const { chromium } = require('playwright-core');

const [base, ...paths] = process.argv.slice(2);
const cookie = process.env.CRM_BENCH_COOKIE;
const runs = Number(process.env.UI_PAINT_RUNS ?? 10);
const throttle = Number(process.env.UI_PAINT_CPU_SLOWDOWN ?? 4);
// A 390 × 844 phone (iPhone 12 to 14) has 3 device pixels per CSS pixel.
const dpr = Number(process.env.UI_PAINT_DPR ?? 3);
if (!base || paths.length === 0 || !cookie || !(runs >= 2)) {
  console.error('usage: CRM_BENCH_COOKIE=... node bench/ui_paint.mjs BASE_URL PATH...');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

// One page load: a fresh tab, throttled before it navigates; the figures once both are known.
async function load(context, url) {
  const page = await context.newPage();
  try {
    const cdp = await context.newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: throttle });
    const response = await page.goto(url, { waitUntil: 'load', timeout: 30_000 });
    const status = response?.status();
    const landed = new URL(page.url()).pathname;
    if (status !== 200 || landed !== new URL(url).pathname) {
      throw new Error(`${url}: HTTP ${status}, landed on ${landed} (is the session cookie valid?)`);
    }
    // loadEventEnd is set once the load handlers have returned; FCP may be reported a frame late.
    return await page.evaluate(
      () =>
        new Promise((resolve, reject) => {
          const started = performance.now();
          const poll = () => {
            const nav = performance.getEntriesByType('navigation')[0];
            const fcp = performance.getEntriesByName('first-contentful-paint')[0];
            if (nav && nav.loadEventEnd > 0 && fcp) {
              resolve({
                fcp: fcp.startTime,
                load: nav.loadEventEnd - nav.startTime,
                ttfb: nav.responseStart - nav.startTime,
              });
            } else if (performance.now() - started > 10_000) {
              reject(new Error('no first-contentful-paint or loadEventEnd within 10 s'));
            } else {
              setTimeout(poll, 20);
            }
          };
          poll();
        }),
    );
  } finally {
    await page.close();
  }
}

// Nearest-rank percentile of sorted `xs`.
const pct = (xs, p) => xs[Math.max(0, Math.ceil((p / 100) * xs.length) - 1)];
const median = (xs) =>
  xs.length % 2 ? xs[(xs.length - 1) / 2] : (xs[xs.length / 2 - 1] + xs[xs.length / 2]) / 2;
const fmt = (ms) => ms.toFixed(0).padStart(8);

const version = browser.version();
const rows = [];
try {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
    deviceScaleFactor: dpr,
  });
  const { hostname } = new URL(base);
  await context.addCookies([
    { name: 'crm_session', value: cookie, domain: hostname, path: '/', httpOnly: true, sameSite: 'Lax' },
  ]);
  for (const path of paths) {
    const samples = [];
    for (let i = 0; i < runs; i++) {
      const s = await load(context, new URL(path, base).href);
      if (i > 0) samples.push(s);
    }
    const fcp = samples.map((s) => s.fcp).sort((a, b) => a - b);
    const full = samples.map((s) => s.load).sort((a, b) => a - b);
    const ttfb = samples.map((s) => s.ttfb).sort((a, b) => a - b);
    rows.push({ path, n: samples.length, fcp, full, ttfb });
  }
  await context.close();
} finally {
  await browser.close();
}

console.log(
  `Chromium ${version}, 390x844 mobile (DPR ${dpr}), CPU ${throttle}x slower, ` +
    `${runs - 1} loads per page after 1 warm-up (ms; targets: FCP <= 500, load <= 1000)`,
);
console.log(
  `${'page'.padEnd(52)} ${'loads'.padStart(5)} ${'FCP p50'.padStart(8)} ${'FCP p90'.padStart(8)} ` +
    `${'load p50'.padStart(8)} ${'load p90'.padStart(8)} ${'TTFB p50'.padStart(8)}  verdict`,
);
for (const r of rows) {
  const ok = pct(r.fcp, 90) <= 500 && pct(r.full, 90) <= 1000;
  console.log(
    `${r.path.padEnd(52)} ${String(r.n).padStart(5)} ${fmt(median(r.fcp))} ${fmt(pct(r.fcp, 90))} ` +
      `${fmt(median(r.full))} ${fmt(pct(r.full, 90))} ${fmt(median(r.ttfb))}  ${ok ? 'ok (p90 within)' : 'OVER'}`,
  );
}
