// Unit tests in the loop, with real Tilt in local mode on a copy of the
// repository (the live checkout's services/* are never edited): an edit that
// breaks a business-logic unit test turns business-logic-tests red while the
// service keeps serving; reverting it turns it green; `tilt trigger` runs it again.
import { readFileSync, writeFileSync } from 'node:fs';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/ports';
import { copyRepository, type RepoCopy } from './support/repo-copy';
import { finishedBuildSince, startTiltLocal, tiltTime, type Build, type TiltSession } from './support/tilt-session';

const SOURCE = 'services/business-logic/src/app.ts';
const ORIGINAL = "endpoint: 'fast'";
const BROKEN = "endpoint: 'fast-broken-by-test'";
/** The unit test in services/business-logic/test/app.test.ts that checks that value. */
const FAILING_TEST = 'GET /fast answers who served it';
/** Generous bounds that only catch hangs (the measured times are in BENCHMARKS.md). */
const RESULT_TIMEOUT_MS = 120_000;

describe('unit-test resources with real Tilt (tilt up -- --local, on a copy of the repository)', () => {
  let copy: RepoCopy | undefined;
  let tilt: TiltSession | undefined;
  let original = '';

  /** Waits for the first update of `resource` that started at or after `sinceMs` to finish. */
  const resultSince = (resource: string, sinceMs: number) =>
    waitFor(`a finished run of ${resource}`, async () => finishedBuildSince(await tilt!.status(resource), sinceMs), RESULT_TIMEOUT_MS, 250);
  const fastEndpoint = async () => {
    const response = await fetch(`http://localhost:${tilt!.servicePorts.businessLogic}/fast`);
    return { status: response.status, endpoint: ((await response.json()) as { endpoint?: string }).endpoint };
  };

  beforeAll(async () => {
    copy = copyRepository('meshloop-tilt-tests-');
    original = readFileSync(copy.file(SOURCE), 'utf8');
    expect(original).toContain(ORIGINAL);
    // frontend-tests only to show that a business-logic edit does not run it.
    tilt = await startTiltLocal({
      cwd: copy.root,
      resources: ['business-logic', 'business-logic-tests', 'frontend-tests'],
      ready: async (session) => {
        const service = await session.status('business-logic');
        const tests = await Promise.all(['business-logic-tests', 'frontend-tests'].map((r) => session.status(r)));
        return service.runtimeStatus === 'ok' && tests.every((t) => t.buildHistory.some((b) => b.finishTime));
      },
    });
  }, 240_000);

  afterAll(async () => {
    await tilt?.stop();
    copy?.dispose();
  }, 60_000);

  it('runs each enabled test resource once at startup, green, without waiting for anything', async () => {
    for (const resource of ['business-logic-tests', 'frontend-tests']) {
      const status = await tilt!.status(resource);
      expect(status.buildHistory).toHaveLength(1);
      expect(`${resource}: ${status.updateStatus} ${status.buildHistory[0]?.error ?? ''}`).toBe(`${resource}: ok `);
    }
  });

  it('when an edit breaks a unit test, business-logic-tests turns red naming the test, while the service keeps serving the edit', async () => {
    const frontendBefore = (await tilt!.status('frontend-tests')).buildHistory.length;
    const savedAt = Date.now();
    writeFileSync(copy!.file(SOURCE), original.replace(ORIGINAL, BROKEN));

    const build: Build = await resultSince('business-logic-tests', savedAt - 1000);
    expect(build.error, 'the run failed').toBeTruthy();
    expect((await tilt!.status('business-logic-tests')).updateStatus).toBe('error');
    // vitest's colours are kept in Tilt's log (the UI renders them).
    const logs = stripVTControlCharacters(await tilt!.logs('business-logic-tests'));
    expect(logs).toContain(FAILING_TEST);
    expect(logs).toMatch(/Tests\s+1 failed/);
    expect(tiltTime(build.finishTime!) - savedAt).toBeLessThan(RESULT_TIMEOUT_MS);

    // Never blocked: tsx watch reloaded the service, which serves the edited value.
    await waitFor('the edited answer', async () => ((await fastEndpoint().catch(() => undefined))?.endpoint === 'fast-broken-by-test' ? true : undefined), 20_000, 250);
    expect((await fastEndpoint()).status).toBe(200);
    expect((await tilt!.status('business-logic')).runtimeStatus).toBe('ok');
    // Only the changed workspace's tests ran.
    expect((await tilt!.status('frontend-tests')).buildHistory.length).toBe(frontendBefore);
  }, 180_000);

  it('when the edit is reverted, business-logic-tests turns green again', async () => {
    const savedAt = Date.now();
    writeFileSync(copy!.file(SOURCE), original);
    const build = await resultSince('business-logic-tests', savedAt - 1000);
    expect(build.error ?? '').toBe('');
    expect((await tilt!.status('business-logic-tests')).updateStatus).toBe('ok');
    await waitFor('the original answer', async () => ((await fastEndpoint().catch(() => undefined))?.endpoint === 'fast' ? true : undefined), 20_000, 250);
  }, 180_000);

  it('tilt trigger runs a test resource again by hand, without any file change', async () => {
    const before = (await tilt!.status('frontend-tests')).buildHistory.length;
    const triggeredAt = Date.now();
    const trigger = await tilt!.cli(['trigger', 'frontend-tests']);
    expect(trigger.code, trigger.stderr).toBe(0);
    const build = await resultSince('frontend-tests', triggeredAt - 1000);
    expect(build.error ?? '').toBe('');
    expect((await tilt!.status('frontend-tests')).buildHistory.length).toBe(before + 1);
  }, 180_000);
});
