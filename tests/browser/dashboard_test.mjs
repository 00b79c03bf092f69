// The dashboard in a real browser (Debian's chromium through playwright-core):
//   node dashboard_test.mjs --demo build/tests/browser/dashboard_demo --out build [--chromium /usr/bin/chromium]
// Starts the demo (a failing run, then a run of over 1,000 tasks), opens the status page, waits for
// every progress bar to reach its total, checks the task stream, its hover text and the error
// list, then visits every page. Screenshots: OUT/dashboard-<page>.png.
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { chromium } from 'playwright-core';

function arg(name, fallback) {
  const k = process.argv.indexOf(name);
  if (k >= 0 && k + 1 < process.argv.length) return process.argv[k + 1];
  if (fallback === undefined) throw new Error(`missing ${name}`);
  return fallback;
}
const demoPath = arg('--demo');
const outDir = path.resolve(arg('--out', 'build'));
const chromiumPath = arg('--chromium', '/usr/bin/chromium');
mkdirSync(outDir, { recursive: true });

let passed = 0, failed = 0;
function check(ok, what) {
  if (ok) { passed++; console.log(`ok   ${what}`); } else { failed++; console.log(`FAIL ${what}`); }
}

// The demo prints "URL ...", "FAILED_RUN ..." and "DONE <tasks> ..." on stdout.
const demo = spawn(demoPath, ['--timeout', '240', '--start-delay', '3'], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = [];
const waiters = [];
readline.createInterface({ input: demo.stdout }).on('line', (line) => {
  console.log(`demo: ${line}`);
  lines.push(line);
  for (const w of [...waiters]) if (line.startsWith(w.prefix)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line); }
});
function waitForLine(prefix, ms) {
  const seen = lines.find((l) => l.startsWith(prefix));
  if (seen) return Promise.resolve(seen);
  return new Promise((resolve, reject) => {
    const w = { prefix, resolve };
    waiters.push(w);
    setTimeout(() => reject(new Error(`demo did not print ${prefix} within ${ms} ms`)), ms);
  });
}

const profileDir = mkdtempSync(path.join(tmpdir(), 'tessera-chromium-'));
let context;
try {
  const url = (await waitForLine('URL ', 30000)).slice(4).trim();
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1440, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = context.pages()[0] || await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('requestfailed', (r) => { if (!r.url().endsWith('/events')) problems.push(`request failed: ${r.url()}`); });

  await page.goto(url, { waitUntil: 'load' });
  check((await page.title()) === 'Tessera dashboard', 'status page title');

  const done = await waitForLine('DONE ', 120000);
  const expected = Number(done.split(' ')[1]);
  check(expected >= 1000, `the demo ran ${expected} tasks (>= 1000)`);

  // Progress bars reach 100% with the run's total.
  await page.waitForFunction((n) => {
    const bar = document.getElementById('overall-progress');
    return Number(bar.dataset.total) === n && Number(bar.dataset.done) === n;
  }, expected, { timeout: 60000 });
  check((await page.textContent('#overall-percent')) === '100%', 'overall progress shows 100%');
  // The run's end arrives in its own event, possibly one update after the last task's.
  await page.waitForFunction(() => document.getElementById('run-state')?.textContent === 'finished',
                             null, { timeout: 30000 }).catch(() => {});
  check((await page.textContent('#run-state')) === 'finished', 'run state is finished');
  const rows = await page.$$eval('.group-row', (els) => els.map((e) => ({
    group: e.dataset.group, done: Number(e.dataset.done), total: Number(e.dataset.total) })));
  console.log('groups:', JSON.stringify(rows));
  check(rows.length >= 4, `${rows.length} task groups shown`);
  check(rows.every((r) => r.done === r.total && r.total > 0), 'every group bar is complete');
  check(rows.reduce((s, r) => s + r.total, 0) === expected, 'group totals add up to the run');
  for (const g of ['load_record', 'clean_record', 'summarize'])
    check(rows.some((r) => r.group === g), `group ${g} shown`);

  // The task stream draws the run's tasks; hovering a bar names its task.
  try {
    await page.waitForFunction((n) => Number(document.getElementById('task-stream').dataset.bars) === n,
      expected, { timeout: 20000 });
  } catch (e) {
    console.log('stream:', await page.evaluate(() => JSON.stringify({
      bars: document.getElementById('task-stream').dataset.bars,
      tasks: window.tesseraDashboard.state.tasks.length,
      next: window.tesseraDashboard.state.tasksNext,
      runs: [...new Set(window.tesseraDashboard.state.tasks.map((t) => t.run))],
      run: window.tesseraDashboard.state.run.id })));
    throw e;
  }
  check(true, 'task stream shows one bar per task');
  const box = await page.locator('#task-stream').boundingBox();
  const bars = await page.evaluate(() => window.tesseraDashboard.bars());
  const bar = bars.find((b) => b.key.includes('load_record')) || bars[0];
  await page.mouse.move(box.x + bar.x, box.y + bar.y);
  await page.waitForSelector('#tooltip:not([hidden])', { timeout: 5000 });
  const tip = await page.textContent('#tooltip');
  check(tip.includes(bar.key.slice(0, 12)), `hover shows the task key (${tip.slice(0, 60)}...)`);
  check(/(µs|ms| s)/.test(tip), 'hover shows the duration');
  await page.mouse.move(2, 2);

  // The failed run is listed with its key and message.
  const errors = await page.textContent('#errors');
  check(errors.includes('sensor 3 returned no data'), 'error message listed');
  check(errors.includes('load_sensor'), 'failing task key listed');

  await page.screenshot({ path: path.join(outDir, 'dashboard-status.png'), fullPage: true });

  // The other pages.
  const pages = {
    workers: async () => (await page.$$('#workers-table tbody tr')).length >= 1 &&
      (await page.textContent('#workers-table tbody')).includes('local'),
    graph: async () => { await page.waitForFunction(() => document.getElementById('graph-summary').textContent.length > 0, null, { timeout: 10000 }); return true; },
    profile: async () => { await page.waitForSelector('.profile-row', { timeout: 10000 }); return (await page.$$('.profile-row')).length >= 4; },
    system: async () => { await page.waitForFunction(() => document.getElementById('sys-cpu').textContent.endsWith('%'), null, { timeout: 10000 }); return true; },
  };
  for (const [name, ready] of Object.entries(pages)) {
    await page.click(`nav.tabs a[data-page="${name}"]`);
    check(new URL(page.url()).pathname === `/${name}`, `tab ${name} changes the address`);
    check(await ready(), `${name} page shows its content`);
    await page.waitForTimeout(300);
    await page.screenshot({ path: path.join(outDir, `dashboard-${name}.png`), fullPage: true });
  }
  // Loading a page's address directly opens that tab.
  await page.goto(url + 'profile');
  check(await page.isVisible('#page-profile'), 'direct load of /profile shows the profile');
  check(problems.length === 0, `no page errors${problems.length ? ': ' + problems.join('; ') : ''}`);
} catch (e) {
  failed++;
  console.log(`FAIL ${e.stack || e}`);
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(profileDir, { recursive: true, force: true });
  demo.stdin.end();
  if (demo.exitCode === null && demo.signalCode === null) {
    const timer = setTimeout(() => demo.kill('SIGKILL'), 10000);
    await new Promise((resolve) => demo.on('exit', resolve));
    clearTimeout(timer);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
