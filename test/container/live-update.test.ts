// Tilt's live update, done exactly as Tilt does it, against the real `dev`
// image of business-logic running in a real container: the changed files go
// into a tar archive with their path under / (app/services/...), which is
// piped to `docker exec -i <c> tar -C / -x -f -` run as the container's user.
// GNU tar unlinks each existing file and creates a new one (it does not write
// in place), so every sync replaces the file. Each edit must be served.
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildServiceImage, docker, fetchWithin, removeLabelled, runContainer, tarSync, testLabel, type Container } from '../support/docker';
import { waitFor } from '../support/ports';

const label = testLabel('live-update');
const appFile = 'app/services/business-logic/src/app.ts';
const healthFile = 'app/services/service-runtime/src/http/health.ts';
const addedFile = 'app/services/business-logic/src/live-update-added.ts';
/** Generous bound per edit: catches a missed sync, not a slow one (measured by npm run bench). */
const servedWithinMs = 15_000;
let image: string;
let container: Container | undefined;
/**
 * Every save carries the same whole-second mtime, as saves within one second
 * reach the container through Tilt (its archive rounds mtimes to seconds): the
 * image's TAR_OPTIONS=--touch must still make each one a change tsx sees.
 */
const sameSecond = new Date();

/** Tilt's sync of files saved now. */
function save(target: Container, files: Record<string, string>): void {
  tarSync(target, files, { mtime: sameSecond });
}

/** A file as the image has it (the sources the container started from). */
function original(target: Container, file: string): string {
  return docker(['exec', target.id, 'cat', `/${file}`]);
}

async function json(url: string): Promise<Record<string, unknown>> {
  const response = await fetchWithin(url);
  return (await response.json()) as Record<string, unknown>;
}

/** Waits until `read` returns `expected`; the error says which edit was missed. */
async function served(what: string, read: () => Promise<unknown>, expected: string): Promise<number> {
  const started = Date.now();
  let last: unknown;
  await waitFor(what, async () => {
    last = await read().catch((error: unknown) => `(${String(error)})`);
    return last === expected ? true : undefined;
  }, servedWithinMs, 50).catch((error: unknown) => {
    throw new Error(`${String(error)}; still served: ${JSON.stringify(last)}\n--- container log (tail) ---\n${container?.logs().split('\n').slice(-30).join('\n')}`, { cause: error });
  });
  return Date.now() - started;
}

function replaceOnce(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`the image's source no longer contains ${from}: update this test`);
  return text.replace(from, to);
}

beforeAll(() => {
  removeLabelled(label);
  image = buildServiceImage('business-logic', 'dev');
}, 30 * 60_000);

async function startDev(): Promise<Container> {
  const started = runContainer(image, { label, ports: [8081] });
  container = started;
  await waitFor('business-logic dev /readyz', async () => ((await fetchWithin(`${started.url(8081)}/readyz`)).ok ? true : undefined), 60_000, 200).catch(
    (error: unknown) => {
      throw new Error(`${String(error)}\n${started.logs()}`, { cause: error });
    },
  );
  return started;
}

afterEach(() => {
  container?.remove();
  container = undefined;
});

afterAll(() => {
  removeLabelled(label);
});

describe("live update into the dev container by Tilt's tar sync (docker exec -i <c> tar -C / -x -f -)", () => {
  it('10 syncs in a row of the same service file are each served, every one with a different answer', async () => {
    const c = await startDev();
    const source = original(c, appFile);
    const fast = async () => (await json(`${c.url(8081)}/fast`)).endpoint;
    expect(await fast()).toBe('fast');
    const times: number[] = [];
    for (let edit = 1; edit <= 10; edit++) {
      const marker = `fast-edit-${edit}-${randomBytes(3).toString('hex')}`;
      save(c, { [appFile]: replaceOnce(source, "endpoint: 'fast'", `endpoint: '${marker}'`) });
      times.push(await served(`edit ${edit} of 10 of app.ts (served so far: ${times.length})`, fast, marker));
    }
    expect(times).toHaveLength(10);
    // The synced file belongs to the container's user, as Tilt's exec leaves it.
    expect(docker(['exec', c.id, 'stat', '-c', '%u', `/${appFile}`])).toBe('1000');
  }, 10 * 60_000);

  it('syncs of the shared service-runtime package (3 in a row) are each served', async () => {
    const c = await startDev();
    const source = original(c, healthFile);
    const livez = async () => (await json(`${c.url(8081)}/livez`)).status;
    expect(await livez()).toBe('ok');
    for (let edit = 1; edit <= 3; edit++) {
      const marker = `ok-edit-${edit}-${randomBytes(3).toString('hex')}`;
      save(c, { [healthFile]: replaceOnce(source, "res.json({ status: 'ok' })", `res.json({ status: '${marker}' })`) });
      await served(`edit ${edit} of 3 of service-runtime health.ts`, livez, marker);
    }
  }, 5 * 60_000);

  it('a newly added file is served, and so are later syncs of that new file alone', async () => {
    const c = await startDev();
    const source = original(c, appFile);
    const fast = async () => (await json(`${c.url(8081)}/fast`)).endpoint;
    const added = (value: string) => `export const addedAnswer = '${value}';\n`;
    const importing = replaceOnce(
      replaceOnce(source, "import { failInjection } from './fail-injection';", "import { failInjection } from './fail-injection';\nimport { addedAnswer } from './live-update-added';"),
      "endpoint: 'fast'",
      'endpoint: addedAnswer',
    );
    const first = `added-${randomBytes(3).toString('hex')}`;
    // One archive with both files, as Tilt sends a batch of changes.
    save(c, { [addedFile]: added(first), [appFile]: importing });
    await served('the new file, imported by the edited app.ts', fast, first);
    for (let edit = 1; edit <= 3; edit++) {
      const marker = `added-edit-${edit}-${randomBytes(3).toString('hex')}`;
      save(c, { [addedFile]: added(marker) });
      await served(`edit ${edit} of 3 of the new file alone`, fast, marker);
    }
  }, 5 * 60_000);
});
