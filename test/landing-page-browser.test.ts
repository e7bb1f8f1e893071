import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServices, stopAllServices, type RunningServices } from './support/services';
import { toolPath } from './support/tools';

/** Debian's chromium driven by playwright-core: what a developer sees and clicks. */
describe('landing page in a real browser', () => {
  let services: RunningServices;
  let browser: Browser;

  beforeAll(async () => {
    services = await startServices({ env: { JAEGER_UI_URL: 'http://localhost:16686' } });
    browser = await chromium.launch({
      executablePath: toolPath('chromium'),
      headless: true,
      // As root there is no sandbox; with no network, background services would only fail.
      // playwright gives the browser a fresh, temporary profile of its own.
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
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
});
