/**
 * Save → test result in Tilt (docs/tests-in-the-loop.md): real `tilt up -- --local`
 * on a copy of the repository, everything enabled (the services reload under
 * tsx watch at the same time, as on a laptop). Each round saves one source file
 * per workspace, in turn, and times until that workspace's `<name>-tests`
 * resource has a result; a service-runtime edit also runs the services' tests,
 * timed until the last of them has a result. One round before the timed ones
 * warms up (Tilt's first file event, vite's first transform of each file).
 * `npm run bench:tests [-- --quick]` prints the rows; `npm run bench` includes them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { waitFor } from '../../test/support/ports';
import { copyRepository } from '../../test/support/repo-copy';
import { finishedBuildSince, startTiltLocal, tiltTime, type Build, type TiltSession } from '../../test/support/tilt-session';
import { summarizeLatencies } from '../traffic/stats';
import { ms, type Row } from './report';
import { repoRoot } from './variants';

/** The file saved in each workspace (a comment line changes: the tests still pass). */
const EDITED: Record<string, string> = {
  'service-runtime': 'services/service-runtime/src/index.ts',
  'business-logic': 'services/business-logic/src/app.ts',
  frontend: 'services/frontend/src/app.ts',
};
const SHARED = 'service-runtime';

interface Sample {
  /** save → the run's result (what the UI shows) */
  total: number;
  /** save → Tilt starts the run (file watch and its debounce) */
  detect: number;
  /** the run itself (npm test of the workspace) */
  run: number;
}

const workspaces = (): string[] =>
  (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces.map((f) => path.basename(f));

async function allIdle(tilt: TiltSession, resources: string[]): Promise<boolean> {
  const statuses = await Promise.all(resources.map((r) => tilt.status(r)));
  return statuses.every((s) => !s.currentBuild?.startTime && s.buildHistory.length > 0 && s.updateStatus !== 'pending');
}

async function resultSince(tilt: TiltSession, resource: string, sinceMs: number): Promise<Build> {
  const build = await waitFor(`a result of ${resource}`, async () => finishedBuildSince(await tilt.status(resource), sinceMs), 120_000, 100);
  if (build.error) throw new Error(`${resource} failed on a comment-only edit: ${build.error}`);
  return build;
}

export async function testsInTheLoopRows({ quick, log = () => undefined }: { quick: boolean; log?: (line: string) => void }): Promise<Row[]> {
  const rounds = quick ? 2 : 7;
  const names = workspaces();
  const resources = names.map((n) => `${n}-tests`);
  const copy = copyRepository('meshloop-bench-tests-');
  let tilt: TiltSession | undefined;
  const own = new Map<string, Sample[]>(names.map((n) => [n, []]));
  const sharedAll: number[] = [];
  try {
    tilt = await startTiltLocal({
      cwd: copy.root,
      resources: [],
      ready: async (session) => (await session.status('frontend')).runtimeStatus === 'ok' && (await allIdle(session, resources)),
    });
    const session = tilt;
    for (let round = -1; round < rounds; round += 1) {
      for (const name of names) {
        const file = copy.file(EDITED[name]!);
        const original = readFileSync(file, 'utf8');
        const savedAt = Date.now();
        writeFileSync(file, `${original}// bench edit ${round}\n`);
        const build = await resultSince(session, `${name}-tests`, savedAt - 50);
        const sample = { total: tiltTime(build.finishTime!) - savedAt, detect: tiltTime(build.startTime) - savedAt, run: tiltTime(build.finishTime!) - tiltTime(build.startTime) };
        if (round >= 0) own.get(name)!.push(sample);
        if (name === SHARED) {
          const others = await Promise.all(resources.filter((r) => r !== `${SHARED}-tests`).map((r) => resultSince(session, r, savedAt - 50)));
          if (round >= 0) sharedAll.push(Math.max(sample.total, ...others.map((b) => tiltTime(b.finishTime!) - savedAt)));
        }
        log(`save → result ${name}-tests${round < 0 ? ' (warm-up)' : ''}: ${Math.round(sample.total)} ms (run starts after ${Math.round(sample.detect)} ms)`);
        // Put the file back and let every run (and service reload) settle before the next edit.
        writeFileSync(file, original);
        await new Promise((resolve) => setTimeout(resolve, 1500));
        await waitFor('the test resources to be idle', () => allIdle(session, resources).then((idle) => (idle ? true : undefined)), 120_000, 250);
      }
    }
  } finally {
    await tilt?.stop();
    copy.dispose();
  }

  const rows: Row[] = [];
  for (const name of names) {
    const samples = own.get(name)!;
    const total = summarizeLatencies(samples.map((s) => s.total))!;
    const detect = summarizeLatencies(samples.map((s) => s.detect))!;
    const run = summarizeLatencies(samples.map((s) => s.run))!;
    rows.push({
      figure: `Save → test result in Tilt, ${name}-tests, local mode (median / p95 of ${total.count}; run starts after ${ms(detect.p50)}, takes ${ms(run.p50)})`,
      value: `${ms(total.p50)} / ${ms(total.p95)}`,
    });
  }
  const shared = summarizeLatencies(sharedAll)!;
  rows.push({
    figure: `Save → all test results after a ${SHARED} edit (its tests and every service's; median / p95 of ${shared.count})`,
    value: `${ms(shared.p50)} / ${ms(shared.p95)}`,
  });
  return rows;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
  const rows = await testsInTheLoopRows({ quick: values.quick ?? false, log: (line) => process.stderr.write(`${line}\n`) });
  for (const row of rows) process.stdout.write(`| ${row.figure} | ${row.value} | – | recorded |\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  });
}
