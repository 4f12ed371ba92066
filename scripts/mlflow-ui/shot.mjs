// Screenshot of one MLflow UI page after the clicks that Chromium's --screenshot CLI cannot do:
// MLflow 3.17 keeps a parent run's expanded state in localStorage (runsExpanded), not in the URL,
// so the children of a nested run only show after a click on the "+" in its run name cell.
//   node scripts/mlflow-ui/shot.mjs --url URL --out PNG [options]
//     --expand RUN_ID        click the expander of RUN_ID's row; wait for its child rows
//     --close-assistant      close the "MLflow Assistant" side panel (it opens on a first visit)
//     --show-all-runs        chart view: the eye menu's "Show all runs" (default: first 10 only)
//     --chart-search TEXT    chart view: type TEXT into "Search metric charts"
//     --run-name-width PX    widen the "Run Name" column to PX (names are cut at 190 px)
//     --size WxH             window size (default 1600x1000, as scripts/mlflow-screenshots)
//     --settle MS            wait after the last step for charts to draw (default 4000)
//     --chromium PATH        browser (default $CHROMIUM or /usr/bin/chromium; never downloaded)
//     --list-buttons         print the page's buttons (aria-label, data-testid, data-component-id):
//                            how to find a selector when a new MLflow version renames one
import puppeteer from 'puppeteer-core';

const opts = { size: '1600x1000', settle: '4000', chromium: process.env.CHROMIUM || '/usr/bin/chromium' };
const flags = new Set(['close-assistant', 'show-all-runs', 'list-buttons']);
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const m = /^--(.+)$/.exec(argv[i]);
  if (!m) die(`unexpected argument ${argv[i]}`);
  if (flags.has(m[1])) opts[m[1]] = true;
  else if (i + 1 < argv.length) opts[m[1]] = argv[++i];
  else die(`${argv[i]} needs a value`);
}
if (!opts.url || !opts.out) die('usage: shot.mjs --url URL --out PNG [--expand RUN_ID] [--close-assistant] ' +
  '[--show-all-runs] [--chart-search TEXT] [--run-name-width PX] [--size WxH] [--settle MS] [--list-buttons]');
const [width, height] = opts.size.split('x').map(Number);

function die(msg) { console.error(`mlflow-ui: ${msg}`); process.exit(2); }
function log(msg) { console.error(`mlflow-ui: ${msg}`); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const browser = await puppeteer.launch({
  executablePath: opts.chromium,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--hide-scrollbars'],
  defaultViewport: { width, height },
  // The machine may be busy (tests beside us): generous protocol and step timeouts.
  protocolTimeout: 180000,
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(90000);
  // The runs page polls the server (auto-refresh), so the network is never fully idle:
  // networkidle2 (at most 2 requests in flight) is the state that comes.
  await page.goto(opts.url, { waitUntil: 'networkidle2', timeout: 120000 });
  if (opts['list-buttons']) await listButtons(page);
  if (opts.expand) await expand(page, opts.expand);
  if (opts['close-assistant']) {
    const close = await page.$('button[data-component-id="mlflow.assistant.chat_panel.close"]');
    if (close) await close.click(); else log('no assistant panel to close');
  }
  if (opts['show-all-runs']) {
    await page.click('button[data-testid="experiment-view-runs-visibility-column-header"]');
    const item = await page.waitForSelector('::-p-xpath(//*[@role="menuitemradio"][normalize-space()="Show all runs"])');
    await item.click();
  }
  if (opts['run-name-width']) await widenRunName(page, Number(opts['run-name-width']));
  if (opts['chart-search']) {
    const box = await page.waitForSelector('input[placeholder="Search metric charts"]');
    await box.type(opts['chart-search']);
  }
  // Let the requests these steps started finish, and the charts draw; then leave no hover or focus ring.
  await page.waitForNetworkIdle({ idleTime: 1000, concurrency: 2, timeout: 60000 }).catch(() => {});
  await page.mouse.move(width - 1, height - 1);
  await page.evaluate(() => document.activeElement?.blur());
  await sleep(Number(opts.settle));
  await page.screenshot({ path: opts.out });
  log(`${opts.out} (${page.url()})`);
} finally {
  await browser.close();
}

// The "+" is an icon-only button in the run name cell of the row that links to the run.
async function expand(page, runId) {
  const rows = '.ag-center-cols-container .ag-row';
  const button = `.ag-row:has(a[href$="/runs/${runId}"]) button[data-component-id*="runnamecellrenderer"]`;
  await page.waitForSelector(button).catch(async () => {
    await listButtons(page);
    die(`no expander for run ${runId} (buttons above)`);
  });
  const before = await page.$$eval(rows, (r) => r.length);
  await page.click(button);
  // The children come from a search request; wait until their rows are rendered.
  await page.waitForFunction((sel, n) => document.querySelectorAll(sel).length > n, {}, rows, before);
  log(`expanded ${runId}: ${before} -> ${await page.$$eval(rows, (r) => r.length)} rows`);
}

// Drag the column's resize handle, as a user would (the width is kept in the page state).
async function widenRunName(page, px) {
  const cell = await page.waitForSelector('.ag-header-cell[col-id="attributes.`Run Name`"]');
  const box = await cell.boundingBox();
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width - 2, y);
  await page.mouse.down();
  await page.mouse.move(box.x + px - 2, y, { steps: 10 });
  await page.mouse.up();
}

async function listButtons(page) {
  const lines = await page.$$eval('button, [role=button]', (els) => els.map((el) => {
    const r = el.getBoundingClientRect();
    const a = (k) => el.getAttribute(k) ?? '';
    return `${Math.round(r.x)},${Math.round(r.y)} aria-label="${a('aria-label')}" data-testid="${a('data-testid')}" ` +
      `data-component-id="${a('data-component-id')}" text="${el.textContent.trim().slice(0, 40)}"`;
  }));
  console.error(lines.join('\n'));
}
