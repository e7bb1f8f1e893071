import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/ports';
import { startService, stopAllServices } from './support/services';
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
