/**
 * The dashboard in a real browser: Debian's chromium driven by playwright-core, against the local runtime
 * of the real serverless.yml (packaged from a private copy, like test/local/cli-vaults.test.ts, so the
 * project's .serverless/ is never touched; the copy deploys the first sample plan to the local stage, so
 * the plans table has one), the CBR emulator and the demo run of `npm start`. What a person would check:
 * the run is listed with its state (a failed run above it, though older), its timeline has the steps,
 * coverage shows the demo's unprotected server as unprotected, the page follows a run to its end without
 * a reload, and a browser without a token sees no data. Screenshots go to test-results/screenshots/.
 *
 * Chromium: $CHROMIUM_PATH, else /usr/bin/chromium (Debian's `chromium` package; .ci/run installs it).
 * Missing, the tests fail under CI=true and are skipped elsewhere with the command that installs it.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../emulator/index';
import { ApiClient } from '../../local/cli/client';
import { watchRun } from '../../local/cli/watch';
import { PROJECT_ROOT } from '../../local/stack';
import { demoRunRequest } from '../../local/start';
import { startPackagedStack, type PackagedStack } from '../helpers/packaged-stack';

const SCREENSHOTS = join(PROJECT_ROOT, 'test-results', 'screenshots');
const INSTALL = 'install Debian\'s chromium: `sudo apt-get update && sudo apt-get install -y chromium` (as root without sudo), or set CHROMIUM_PATH to a Chromium binary';
const CHROMIUM = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p): p is string => !!p && existsSync(p) && statSync(p).isFile());
const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
if (!CHROMIUM && !IN_CI) console.warn(`test/browser: chromium not found, the browser tests are skipped; ${INSTALL}`);

const LOADS = 10;
let stack: PackagedStack;
let browser: Browser;
let api: ApiClient;
let dashboardUrl: string;
let failedRunId: string;
let demoRunId: string;
const logs: string[] = [];
const pageErrors: string[] = [];

async function open(url: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('pageerror', (e) => pageErrors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`); });
  await page.goto(url);
  return page;
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2; };

describe.skipIf(!CHROMIUM && !IN_CI)('the dashboard in chromium', () => {
  beforeAll(async () => {
    if (!CHROMIUM) throw new Error(`chromium not found (CI=true: the browser test must run); ${INSTALL}`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    stack = await startPackagedStack({ prefix: 'cbr-flow-browser-', subject: 'browser-test', emulator: { timing: { checkpointMs: [1500, 2500] } }, log: (line) => logs.push(line) });
    // The token as `npm start` hands it over: in the URL's fragment (local/start.ts).
    const token = await stack.runtime.issuer!.mint({ sub: 'browser-test', projects: '*' });
    dashboardUrl = `${stack.runtime.url}/#token=${token}`;
    api = new ApiClient(stack.runtime.url, { webhookKeys: [stack.webhookKey], bearerToken: token });
    // An older run that fails (its AddVaultResource refused for good): listed first all the same.
    stack.emulator.faults.add({ operations: ['AddVaultResource'], error: { rate: 1, statuses: [400], errorCode: 'BackupService.6302', errorMsg: 'The resource does not exist.' }, times: 1 });
    const failed = await api.startRun({ ...demoRunRequest(), vault: { mode: 'create', name: 'browser_failing', billing: { chargingMode: 'post_paid', size: 100 } }, resources: [{ id: DEMO.servers[3].id, type: 'OS::Nova::Server' }], shareWith: [] });
    failedRunId = failed.runId;
    expect((await watchRun(api, failedRunId, { intervalMs: 200, timeoutMs: 60_000 })).state).toBe('FAILED');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      // As the machine's probe runs it: no sandbox as root, and no background connections to the closed network.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('follows the demo run to COMPLETED without a reload, failed run first, with its timeline\'s steps as bars', async () => {
    const started = await api.startRun(demoRunRequest());
    demoRunId = started.runId;
    const page = await open(dashboardUrl);
    // The token left the address bar (kept in the tab's sessionStorage).
    expect(page.url()).toBe(`${stack.runtime.url}/`);
    const row = page.locator(`tr[data-run-id="${demoRunId}"]`);
    await row.waitFor({ timeout: 15_000 });
    const first = await row.getAttribute('data-state');
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-run-in-progress.png'), fullPage: true });
    await page.locator(`tr[data-run-id="${demoRunId}"][data-state="COMPLETED"]`).waitFor({ timeout: 90_000 });
    console.log(`demo run first seen ${first}, then COMPLETED on the same page (polling)`);
    await expect.poll(async () => page.locator(`tr[data-run-id="${demoRunId}"] svg rect[data-step]`).count(), { timeout: 10_000 }).toBeGreaterThan(3);
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard.png'), fullPage: true });

    expect(await row.locator('td').first().innerText()).toBe('COMPLETED');
    expect(await row.innerText()).toContain('cbr-flow-demo');
    const steps = await row.locator('svg rect[data-step]').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-step')));
    expect(new Set(steps)).toEqual(new Set(['create-vault', 'add-resources', 'start-checkpoint', 'check-status', 'share-backup']));
    // Each bar says what it is when hovered (its SVG title): the step and how long it took.
    expect(await row.locator('svg rect[data-step="create-vault"] title').first().textContent()).toMatch(/^create-vault: \d+\.\d s \(from \+0\.0 s\)$/);
    // The failed run is above the newer completed one, with its reason.
    const order = await page.locator('#runs-body tr[data-run-id]').evaluateAll((rs) => rs.map((r) => [r.getAttribute('data-run-id'), r.getAttribute('data-state')]));
    expect(order).toEqual([[failedRunId, 'FAILED'], [demoRunId, 'COMPLETED']]);
    expect(await page.locator(`tr[data-reason-of="${failedRunId}"]`).innerText()).toMatch(/\S/);
    await page.close();
  }, 150_000);

  it('shows coverage per project: ecs-db-01 unprotected, the demo\'s two servers backed up (short of the plan\'s share); the plan with its next firings', async () => {
    const page = await open(dashboardUrl);
    await page.locator('body[data-loaded="true"]').waitFor({ timeout: 30_000 });
    const project = page.locator(`section[data-project="${DEMO.projectId}"]`);
    const status = (id: string) => project.locator(`tr[data-resource-id="${id}"] td`).first().innerText();
    expect(await status(DEMO.servers[2].id)).toBe('unprotected');
    expect(await project.locator(`tr[data-resource-id="${DEMO.servers[2].id}"]`).innerText()).toContain('ecs-db-01');
    // The demo backed up ecs-9f93-0002 and ecs-web-01 and shared them with its peer; the sample plan deployed
    // here names both and shares with another project, so their backups are fresh but miss that share.
    for (const s of DEMO.servers.slice(0, 2)) {
      expect(await status(s.id)).toBe('share-missing');
      expect(await project.locator(`tr[data-resource-id="${s.id}"]`).innerText()).toContain('cbr-flow-demo');
    }
    expect(await project.locator('p.counts').innerText()).toMatch(/^\d+ resources: protected \d+\s+unprotected [1-9]\d*\s+stale 2\s+deleted \d+$/);
    // The second demo project has its own section.
    expect(await page.locator('section[data-project]').count()).toBe(2);
    // The sample plan the copy deploys to the local stage: nightly at 02:00 Shanghai = 18:00 UTC.
    const plan = page.locator('tr[data-plan="nightly-web-servers"]');
    expect(await plan.innerText()).toMatch(/\d{4}-\d\d-\d\d 02:00 Asia\/Shanghai = \d{4}-\d\d-\d\d 18:00 UTC/);
    await page.close();
  }, 60_000);

  it('without a token shows the sign-in form and no data; a refused token is said so', async () => {
    const page = await open(`${stack.runtime.url}/`);
    await page.locator('#login').waitFor({ state: 'visible' });
    expect(await page.locator('#main').isHidden()).toBe(true);
    expect(await page.content()).not.toContain(DEMO.projectId);
    await page.locator('#login-token').fill('not-a-jwt');
    await page.locator('#login button').click();
    await expect.poll(async () => page.locator('#login-why').innerText(), { timeout: 10_000 }).toContain('refused (401)');
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-sign-in.png') });
    await page.close();
    pageErrors.splice(0, pageErrors.length, ...pageErrors.filter((e) => !/401/.test(e))); // the refused fetch is logged by chromium
  });

  it('is small and quick: page size, and the median of 10 loads until runs and coverage are drawn', async () => {
    const res = await fetch(`${stack.runtime.url}/`);
    const html = Buffer.from(await res.arrayBuffer());
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'sha256-/);
    // Each load a first visit: a new browser context (empty cache and sessionStorage), so the page, its script
    // and both reads (GET /dashboard/data, GET /coverage: ListProtectable of both demo projects) all run.
    const times: number[] = [];
    const html_ms: number[] = [];
    const runs_ms: number[] = [];
    for (let i = 0; i < LOADS; i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const t0 = performance.now();
      await page.goto(dashboardUrl);
      await page.locator('body[data-runs="true"]').waitFor({ timeout: 30_000 });
      runs_ms.push(performance.now() - t0);
      await page.locator('body[data-loaded="true"]').waitFor({ timeout: 30_000 });
      times.push(performance.now() - t0);
      html_ms.push(Number(await page.evaluate('performance.getEntriesByType("navigation")[0].responseEnd')));
      await context.close();
    }
    // The two reads alone (median of 5 each, one at a time): where a load's time goes on this stack.
    const auth = { authorization: `Bearer ${await stack.runtime.issuer!.mint({ sub: 't', projects: '*' })}` };
    const timed = async (path: string) => {
      const ms: number[] = [];
      let text = '';
      for (let i = 0; i < 5; i++) { const t0 = performance.now(); text = await (await fetch(`${stack.runtime.url}${path}`, { headers: auth })).text(); ms.push(performance.now() - t0); }
      return { ms: median(ms), text };
    };
    const dataRead = await timed('/dashboard/data');
    const coverageRead = await timed('/coverage');
    const data = dataRead.text;
    console.log(`GET /dashboard/data alone: ${dataRead.ms.toFixed(0)} ms (median of 5; two run-store reads on dynalite); GET /coverage alone: ${coverageRead.ms.toFixed(0)} ms (ListProtectable of 2 projects on the emulator + run pages)`);
    console.log(`dashboard page: ${html.length} bytes (${gzipSync(html).length} gzipped); /dashboard/data here: ${Buffer.byteLength(data)} bytes; load to runs+coverage drawn, median of ${LOADS} first visits: ${median(times).toFixed(0)} ms (min ${Math.min(...times).toFixed(0)}, max ${Math.max(...times).toFixed(0)}; the page itself received after ${median(html_ms).toFixed(0)} ms, the runs drawn after ${median(runs_ms).toFixed(0)} ms)`);
    expect(html.length).toBeLessThan(30_000);
    expect(median(times)).toBeLessThan(5_000);
    // No script error and no CSP refusal on any page of this file.
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
