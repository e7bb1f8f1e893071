import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/ports';
import { startService, stopAllServices } from './support/services';
import { tarSync } from './support/tar-sync';
import { repoRoot } from './support/tools';

afterAll(stopAllServices);

/** Like a sync tool (Tilt, rsync): write a temp file next to it, then rename over it. */
function writeAndRename(file: string, content: string): void {
  const temp = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temp, content);
  renameSync(temp, file);
}

/** Applies an edit, runs `body`, and always puts the original file back. */
async function withEdit(file: string, edit: (original: string) => string, write: (file: string, content: string) => void, body: () => Promise<void>) {
  const original = readFileSync(file, 'utf8');
  const edited = edit(original);
  expect(edited).not.toBe(original);
  try {
    write(file, edited);
    await body();
  } finally {
    write(file, original);
  }
}

describe('hot reload under npm run dev (tsx watch)', () => {
  it('editing a service source file (write-and-rename) changes the served answer within 10 s, and restoring it changes it back', async () => {
    const service = await startService('business-logic');
    const answer = async () => ((await (await fetch(`${service.url}/fast`)).json()) as { endpoint: string }).endpoint;
    expect(await answer()).toBe('fast');
    const marker = `fast-${randomBytes(3).toString('hex')}`;
    const file = path.join(repoRoot, 'services/business-logic/src/app.ts');

    await withEdit(file, (s) => s.replace("endpoint: 'fast'", `endpoint: '${marker}'`), writeAndRename, async () => {
      await waitFor('the edited answer', async () => ((await answer().catch(() => '')) === marker ? true : undefined), 10_000, 100);
    });
    await waitFor('the original answer', async () => ((await answer().catch(() => '')) === 'fast' ? true : undefined), 10_000, 100);
    expect(service.child.exitCode).toBeNull();
  });

  it('editing the shared service-runtime source in place reloads the service too', async () => {
    const service = await startService('frontend');
    const livez = async () => ((await (await fetch(`${service.url}/livez`)).json()) as { status: string }).status;
    expect(await livez()).toBe('ok');
    const marker = `ok-${randomBytes(3).toString('hex')}`;
    const file = path.join(repoRoot, 'services/service-runtime/src/http/health.ts');

    await withEdit(file, (s) => s.replace("res.json({ status: 'ok' })", `res.json({ status: '${marker}' })`), writeFileSync, async () => {
      await waitFor('the edited /livez', async () => ((await livez().catch(() => '')) === marker ? true : undefined), 10_000, 100);
    });
    await waitFor('the original /livez', async () => ((await livez().catch(() => '')) === 'ok' ? true : undefined), 10_000, 100);
  });
});

// Tilt's live update: a tar stream of the changed files, extracted with
// `tar -C / -x -f -`, which unlinks each file and creates a new one. tsx's
// watcher once lost track of a file replaced this way after one or two syncs
// (the new file reused the deleted file's inode number).
describe("hot reload under npm run dev with Tilt's sync (tar -x: unlink and create)", () => {
  const appFile = 'services/business-logic/src/app.ts';
  const healthFile = 'services/service-runtime/src/http/health.ts';
  const served = async (url: string, field: string) => {
    const body = (await (await fetch(url)).json()) as Record<string, unknown>;
    return body[field];
  };
  const waitServed = (what: string, url: string, field: string, expected: string) =>
    waitFor(what, async () => ((await served(url, field).catch(() => undefined)) === expected ? true : undefined), 10_000, 100);

  it('10 consecutive syncs of the same business-logic file are each served within 10 s', async () => {
    const service = await startService('business-logic');
    const original = readFileSync(path.join(repoRoot, appFile), 'utf8');
    try {
      for (let edit = 1; edit <= 10; edit++) {
        const marker = `fast-sync-${edit}-${randomBytes(3).toString('hex')}`;
        tarSync(repoRoot, { [appFile]: original.replace("endpoint: 'fast'", `endpoint: '${marker}'`) });
        await waitServed(`sync ${edit} of ${appFile}`, `${service.url}/fast`, 'endpoint', marker);
      }
    } finally {
      tarSync(repoRoot, { [appFile]: original });
    }
    await waitServed('the original answer', `${service.url}/fast`, 'endpoint', 'fast');
    expect(service.child.exitCode).toBeNull();
  });

  it('5 consecutive syncs of the shared service-runtime source each reload the service', async () => {
    const service = await startService('frontend');
    const original = readFileSync(path.join(repoRoot, healthFile), 'utf8');
    try {
      for (let edit = 1; edit <= 5; edit++) {
        const marker = `ok-sync-${edit}-${randomBytes(3).toString('hex')}`;
        tarSync(repoRoot, { [healthFile]: original.replace("res.json({ status: 'ok' })", `res.json({ status: '${marker}' })`) });
        await waitServed(`sync ${edit} of ${healthFile}`, `${service.url}/livez`, 'status', marker);
      }
    } finally {
      tarSync(repoRoot, { [healthFile]: original });
    }
    await waitServed('the original /livez', `${service.url}/livez`, 'status', 'ok');
  });

  it('a newly added file, synced with the edit that imports it, is served; later syncs of it are too', async () => {
    const service = await startService('business-logic');
    const original = readFileSync(path.join(repoRoot, appFile), 'utf8');
    const moduleName = `sync-probe-${randomBytes(3).toString('hex')}`;
    const newFile = `services/business-logic/src/${moduleName}.ts`;
    const importing = original
      .replace("import { failInjection } from './fail-injection';", `import { failInjection } from './fail-injection';\nimport { probeEndpoint } from './${moduleName}';`)
      .replace("endpoint: 'fast'", 'endpoint: probeEndpoint');
    expect(importing).toContain("endpoint: probeEndpoint");
    try {
      for (let edit = 1; edit <= 3; edit++) {
        const marker = `new-file-${edit}-${randomBytes(3).toString('hex')}`;
        const newModule = `export const probeEndpoint = '${marker}';\n`;
        // The first sync adds the file together with the import; later ones change only the new file.
        tarSync(repoRoot, edit === 1 ? { [newFile]: newModule, [appFile]: importing } : { [newFile]: newModule });
        await waitServed(`sync ${edit} with the new file`, `${service.url}/fast`, 'endpoint', marker);
      }
    } finally {
      tarSync(repoRoot, { [appFile]: original });
      rmSync(path.join(repoRoot, newFile), { force: true });
    }
    await waitServed('the original answer', `${service.url}/fast`, 'endpoint', 'fast');
  });
});
