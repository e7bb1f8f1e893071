// The walkthrough of docs/debugging.md as code, shared by the local and the
// container tests: attach to business-logic's inspector, break in the /slow
// handler of app.ts, look at the request's values, step, resume; and after a
// reload, attach to the new process.
import { DevToolsSession, inspectorTargets, type InspectorTarget, type Paused } from './devtools';
import { waitFor } from './ports';

/** The /slow handler line the breakpoint goes on: `requestedDelayMs` is in scope there. */
export const BREAKPOINT_TEXT = 'const delayMs = Math.round(requestedDelayMs';

/** 1-based number of the (first) line of `source` containing `text`. */
export function lineOf(source: string, text: string): number {
  const index = source.split('\n').findIndex((l) => l.includes(text));
  if (index < 0) throw new Error(`the source no longer contains "${text}": update the debugger tests and docs/debugging.md`);
  return index + 1;
}

/** The line of the next statement after `line`: what one step over lands on (blank and comment-only lines are skipped). */
export function nextStatementLine(source: string, line: number): number {
  const lines = source.split('\n');
  for (let index = line; index < lines.length; index++) {
    const text = lines[index]!.trim();
    if (text !== '' && !text.startsWith('//')) return index + 1;
  }
  throw new Error(`no statement after line ${line}`);
}

/** The inspector's target once it lists one other than `previous` (a new process after a reload). */
export async function nextTarget(inspector: string, previous: string | undefined, timeoutMs: number): Promise<InspectorTarget> {
  return waitFor(
    `an inspector target at ${inspector}${previous ? ` other than ${previous}` : ''}`,
    async () => (await inspectorTargets(inspector)).find((t) => t.id !== previous),
    timeoutMs,
    25,
  );
}

export interface Attached {
  session: DevToolsSession;
  targetId: string;
  /** Connect + Debugger.enable until the breakpoint is set and resolved, in ms. */
  attachMs: number;
  /** How many locations the breakpoint resolved to (0 = not bound). */
  resolved: number;
}

/** Connects to `target` and sets the breakpoint on line `line` of `appFile`, as an IDE does on attach. */
export async function attachWithBreakpoint(target: InspectorTarget, appFile: string, line: number): Promise<Attached> {
  const started = performance.now();
  const session = await DevToolsSession.connect(target.webSocketDebuggerUrl);
  await session.send('Runtime.enable');
  await session.send('Debugger.enable');
  const { resolved } = await session.setBreakpointInSource(appFile, line);
  return { session, targetId: target.id, attachMs: performance.now() - started, resolved };
}

export interface SlowRequestObservation {
  pausedAt: { file: string; line: number };
  reason: string;
  /** Names in the handler's local scope (Runtime.getProperties). */
  locals: string[];
  requestedDelayMs: unknown;
  queryDelayMs: unknown;
  /** Where one Debugger.stepOver landed, and `delayMs` there. */
  steppedTo: { file: string; line: number };
  delayMsAfterStep: unknown;
  /** Whether the request was still unanswered while paused. */
  answeredWhilePaused: boolean;
  status: number;
  body: Record<string, unknown>;
}

/** GET /slow?delayMs=N against a breakpoint in the handler: observe, step over, resume. */
export async function debugSlowRequest(session: DevToolsSession, serviceUrl: string, delayMs: number): Promise<SlowRequestObservation> {
  // After a reload the inspector is up before the app listens: click only once it serves.
  await waitFor(`${serviceUrl}/readyz`, async () => ((await fetch(`${serviceUrl}/readyz`, { signal: AbortSignal.timeout(2000) })).ok ? true : undefined), 20_000, 50);
  const paused = session.next<Paused>('Debugger.paused');
  let answered = false;
  const request = fetch(`${serviceUrl}/slow?delayMs=${delayMs}`, { signal: AbortSignal.timeout(60_000) }).then(async (r) => {
    answered = true;
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  });
  request.catch(() => undefined); // awaited below; a pause timeout must not leave it unhandled
  const first = await paused;
  const frame = first.callFrames[0]!;
  const observation = {
    pausedAt: session.originalLocation(frame),
    reason: first.reason,
    locals: await session.localNames(frame),
    requestedDelayMs: await session.evaluate(frame, 'requestedDelayMs'),
    queryDelayMs: await session.evaluate(frame, 'req.query.delayMs'),
  };
  const stepped = session.next<Paused>('Debugger.paused');
  await session.send('Debugger.stepOver');
  const afterStep = (await stepped).callFrames[0]!;
  const steppedTo = session.originalLocation(afterStep);
  const delayMsAfterStep = await session.evaluate(afterStep, 'delayMs');
  const answeredWhilePaused = answered;
  await session.send('Debugger.resume');
  return { ...observation, steppedTo, delayMsAfterStep, answeredWhilePaused, ...(await request) };
}
