// A minimal inspector client speaking the Chrome DevTools Protocol over
// WebSocket, the way VS Code's debugger does: list the targets (/json/list),
// connect, learn the scripts (Debugger.scriptParsed) and place breakpoints in
// TypeScript sources by translating lines through each script's source map.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SourceMapConsumer } from 'source-map-js';
import WebSocket from 'ws';

export interface InspectorTarget {
  id: string;
  type: string;
  url: string;
  webSocketDebuggerUrl: string;
}

/** The inspector's targets (GET /json/list), e.g. from http://127.0.0.1:9229. */
export async function inspectorTargets(base: string, timeoutMs = 2000): Promise<InspectorTarget[]> {
  const response = await fetch(`${base}/json/list`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`${base}/json/list answered ${response.status}`);
  return (await response.json()) as InspectorTarget[];
}

export interface ScriptParsed {
  scriptId: string;
  url: string;
  sourceMapURL?: string;
}

export interface CallFrame {
  callFrameId: string;
  functionName: string;
  location: { scriptId: string; lineNumber: number; columnNumber?: number };
  scopeChain: Array<{ type: string; object: { objectId?: string } }>;
}

export interface Paused {
  reason: string;
  callFrames: CallFrame[];
}

interface Message {
  id?: number;
  method?: string;
  params?: unknown;
  result?: unknown;
  error?: { message: string };
}

type Waiter = { method: string; accept: (params: unknown) => boolean; resolve: (params: unknown) => void };

/** One DevTools protocol session on one target. */
export class DevToolsSession {
  /** Every script the target reported, by id (complete once Debugger.enable answered). */
  readonly scripts = new Map<string, ScriptParsed>();
  /** Resolves when the connection ends (e.g. the process exited on a reload). */
  readonly closed: Promise<void>;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void; method: string }>();
  private waiters: Waiter[] = [];
  private readonly maps = new Map<string, SourceMapConsumer | null>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => this.dispatch(JSON.parse(data.toString()) as Message));
    this.closed = new Promise((resolve) => {
      socket.on('close', () => {
        for (const { reject, method } of this.pending.values()) reject(new Error(`connection closed before ${method} answered`));
        this.pending.clear();
        resolve();
      });
    });
  }

  static connect(webSocketUrl: string, timeoutMs = 10_000): Promise<DevToolsSession> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(webSocketUrl, { handshakeTimeout: timeoutMs, perMessageDeflate: false });
      socket.once('open', () => resolve(new DevToolsSession(socket)));
      socket.once('error', reject);
    });
  }

  send<T = Record<string, unknown>>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject, method });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** The next `method` event (matching `accept`); call it before the action that causes it. */
  next<T>(method: string, timeoutMs = 20_000, accept: (params: T) => boolean = () => true): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        method,
        accept: accept as (p: unknown) => boolean,
        resolve: (params) => {
          clearTimeout(timer);
          resolve(params as T);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no ${method} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  close(): void {
    this.socket.close();
  }

  private dispatch(message: Message): void {
    if (message.id !== undefined) {
      const call = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error) call?.reject(new Error(`${call.method}: ${message.error.message}`));
      else call?.resolve(message.result);
      return;
    }
    if (message.method === 'Runtime.executionContextDestroyed') {
      // The process is exiting and Node waits ("Waiting for the debugger to
      // disconnect...") until every session is gone: detach, as VS Code and
      // Chrome DevTools do, or a tsx restart would wait for its 5 s force-kill.
      this.socket.close();
    }
    if (message.method === 'Debugger.scriptParsed') {
      const script = message.params as ScriptParsed;
      this.scripts.set(script.scriptId, script);
    }
    const waiter = this.waiters.find((w) => w.method === message.method && w.accept(message.params));
    if (waiter) {
      this.waiters = this.waiters.filter((w) => w !== waiter);
      waiter.resolve(message.params);
    }
  }

  /**
   * The script's source map if it is inline (a data: URL, as tsx emits them
   * for the TypeScript it compiles), else null. Maps in files next to a
   * package's JavaScript (dependencies) are not loaded: no breakpoint goes there.
   */
  sourceMap(scriptId: string): SourceMapConsumer | null {
    if (!this.maps.has(scriptId)) {
      const url = this.scripts.get(scriptId)?.sourceMapURL;
      const inline = url?.startsWith('data:') ? readDataUrl(url) : undefined;
      this.maps.set(scriptId, inline ? new SourceMapConsumer(JSON.parse(inline) as ConstructorParameters<typeof SourceMapConsumer>[0]) : null);
    }
    return this.maps.get(scriptId) ?? null;
  }

  /** Absolute path of a source-map source, resolved against the script's own URL. */
  private sourcePath(script: ScriptParsed, source: string): string {
    if (source.startsWith('file://')) return fileURLToPath(source);
    if (path.isAbsolute(source)) return source;
    const scriptPath = script.url.startsWith('file://') ? fileURLToPath(script.url) : script.url;
    return path.resolve(path.dirname(scriptPath), source);
  }

  /**
   * A breakpoint on line `line` (1-based) of the TypeScript file `file` (its
   * path as the debugged process sees it: /app/services/... in a pod): the
   * line goes through the source map of the script generated from `file`.
   */
  async setBreakpointInSource(file: string, line: number, waitMs = 15_000): Promise<{ breakpointId: string; resolved: number }> {
    const found = await this.scriptFor(file, waitMs);
    {
      const { script, map, source } = found;
      const generated = map.generatedPositionFor({ source, line, column: 0, bias: SourceMapConsumer.LEAST_UPPER_BOUND });
      if (generated.line === null) throw new Error(`${file}:${line} has no generated code in ${script.url}`);
      const result = await this.send<{ breakpointId: string; locations: unknown[] }>('Debugger.setBreakpointByUrl', {
        url: script.url,
        lineNumber: generated.line - 1,
        columnNumber: generated.column ?? 0,
      });
      return { breakpointId: result.breakpointId, resolved: result.locations.length };
    }
  }

  /** A parsed script whose source map names `file`; waits for it if the process has not loaded it yet. */
  private async scriptFor(file: string, waitMs: number): Promise<{ script: ScriptParsed; map: SourceMapConsumer; source: string }> {
    const match = (script: ScriptParsed) => {
      const map = this.sourceMap(script.scriptId);
      const source = map?.sources.find((s) => this.sourcePath(script, s) === file);
      return map && source !== undefined ? { script, map, source } : undefined;
    };
    for (const script of this.scripts.values()) {
      const found = match(script);
      if (found) return found;
    }
    // Attached to a process that just started (after a reload): its modules
    // are still loading, so the script arrives as a later scriptParsed event.
    const script = await this.next<ScriptParsed>('Debugger.scriptParsed', waitMs, (s) => match(s) !== undefined).catch((error: unknown) => {
      const known = [...this.scripts.values()].filter((s) => s.url.includes('/services/')).map((s) => s.url);
      throw new Error(`no script with a source map naming ${file} was loaded (scripts under services/: ${known.join(', ')}): ${String(error)}`);
    });
    return match(script)!;
  }

  /** Where a call frame is in the TypeScript sources (1-based line). */
  originalLocation(frame: CallFrame): { file: string; line: number } {
    const script = this.scripts.get(frame.location.scriptId);
    const map = this.sourceMap(frame.location.scriptId);
    if (!script || !map) throw new Error(`script ${frame.location.scriptId} (${script?.url}) has no source map`);
    const original = map.originalPositionFor({ line: frame.location.lineNumber + 1, column: frame.location.columnNumber ?? 0 });
    if (original.source === null || original.line === null) throw new Error(`no original position for ${script.url}:${frame.location.lineNumber + 1}`);
    return { file: this.sourcePath(script, original.source), line: original.line };
  }

  /** The value of `expression` in the scope of a paused frame (JSON-able values only). */
  async evaluate(frame: CallFrame, expression: string): Promise<unknown> {
    const { result, exceptionDetails } = await this.send<{ result: { value?: unknown }; exceptionDetails?: { text: string } }>('Debugger.evaluateOnCallFrame', {
      callFrameId: frame.callFrameId,
      expression,
      returnByValue: true,
    });
    if (exceptionDetails) throw new Error(`evaluating ${expression}: ${exceptionDetails.text}`);
    return result.value;
  }

  /** Names of the variables in the frame's innermost (local) scope. */
  async localNames(frame: CallFrame): Promise<string[]> {
    const objectId = frame.scopeChain.find((s) => s.type === 'local')?.object.objectId;
    if (!objectId) return [];
    const { result } = await this.send<{ result: Array<{ name: string }> }>('Runtime.getProperties', { objectId, ownProperties: true });
    return result.map((p) => p.name);
  }
}

function readDataUrl(url: string): string {
  const match = /^data:[^,]*?(;base64)?,(.*)$/s.exec(url);
  if (!match) throw new Error(`not a data: URL: ${url.slice(0, 80)}`);
  return match[1] ? Buffer.from(match[2]!, 'base64').toString('utf8') : decodeURIComponent(match[2]!);
}
