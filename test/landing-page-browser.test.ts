import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresServer } from './support/postgres';
import { startServices, stopAllServices, type RunningServices } from './support/services';
import { toolPath } from './support/tools';

function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: toolPath('chromium'),
    headless: true,
    // As root there is no sandbox; with no network, background services would only fail.
    // playwright gives the browser a fresh, temporary profile of its own.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** Debian's chromium driven by playwright-core: what a developer sees and clicks. */
describe('landing page in a real browser', () => {
  let services: RunningServices;
  let browser: Browser;

  beforeAll(async () => {
    services = await startServices({ env: { JAEGER_UI_URL: 'http://localhost:16686' } });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await stopAllServices();
  });

  it('clicking Fast then Slow shows each answer, its latency and a trace id linked to Jaeger', async () => {
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    await page.goto(services.frontendUrl);
    await expect.poll(() => page.title()).toBe('meshloop frontend');

    await page.getByRole('button', { name: 'Fast page' }).click();
    await page.locator('#status', { hasText: '200 OK' }).waitFor({ timeout: 10_000 });
    const fastTrace = await page.locator('#trace a').textContent();
    expect(fastTrace).toMatch(/^[0-9a-f]{32}$/);
    expect(await page.locator('#trace a').getAttribute('href')).toBe(`http://localhost:16686/trace/${fastTrace}`);
    expect(await page.locator('#latency').textContent()).toMatch(/^\d+ ms$/);
    expect(await page.locator('#answered-by').textContent()).toContain('business-logic v1');

    await page.getByLabel('Slow delay (ms)').fill('300');
    await page.getByRole('button', { name: 'Slow page' }).click();
    await page.locator('#body', { hasText: '"endpoint": "slow"' }).waitFor({ timeout: 10_000 });
    const slowTrace = await page.locator('#trace a').textContent();
    expect(slowTrace).toMatch(/^[0-9a-f]{32}$/);
    expect(slowTrace).not.toBe(fastTrace);
    const latency = Number((await page.locator('#latency').textContent())?.replace(' ms', ''));
    expect(latency).toBeGreaterThanOrEqual(300);
    expect(await page.locator('#body').textContent()).toContain('"delayMs": 300');
    expect(consoleErrors, consoleErrors.join("\n")).toEqual([]);
    await page.screenshot({ path: path.join(os.tmpdir(), 'meshloop-landing-page.png') });
  });

  it('without storage, History says why: business-logic answered 503 storage_disabled', async () => {
    const page = await browser.newPage();
    await page.goto(services.frontendUrl);
    await page.getByRole('button', { name: 'History' }).click();
    await page.locator('#status', { hasText: /^502 / }).waitFor({ timeout: 10_000 });
    expect(await page.locator('#status').textContent()).toContain('business-logic answered 503 storage_disabled');
    expect(await page.locator('#body').textContent()).toContain('"downstreamError": "storage_disabled"');
  });
});

/** The data walkthrough (docs/data.md) in the browser, with a real PostgreSQL behind business-logic. */
describe('landing page with storage, in a real browser', () => {
  let pg: PostgresServer;
  let services: RunningServices;
  let browser: Browser;

  beforeAll(async () => {
    pg = await startPostgres();
    services = await startServices({ env: { DATABASE_URL: pg.url } });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await services?.stop();
    await pg?.destroy();
  });

  it('clicking Slow page then History shows the stored result, newest first, with the Slow request\'s trace id', async () => {
    const page = await browser.newPage();
    await page.goto(services.frontendUrl);
    await page.getByLabel('Slow delay (ms)').fill('50');
    // Storage is ready once migrations ran: until then /slow answers 503 storage_unavailable.
    await expect.poll(async () => {
      await page.getByRole('button', { name: 'Slow page' }).click();
      await page.locator('#status', { hasNotText: 'calling' }).waitFor({ timeout: 10_000 });
      return page.locator('#body').textContent();
    }, { timeout: 30_000, interval: 500 }).toContain('"stored": true');
    const slowTrace = await page.locator('#trace a').textContent();
    expect(slowTrace).toMatch(/^[0-9a-f]{32}$/);

    await page.getByRole('button', { name: 'History' }).click();
    await page.locator('#body', { hasText: '"endpoint": "history"' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('#status').textContent()).toBe('200 OK');
    const body = JSON.parse((await page.locator('#body').textContent()) ?? '{}') as { downstream: { limit: number; results: Array<{ traceId?: string; requestedDelayMs: number }> } };
    expect(body.downstream.limit).toBe(5);
    expect(body.downstream.results[0]).toMatchObject({ traceId: slowTrace, requestedDelayMs: 50 });
  });
});
