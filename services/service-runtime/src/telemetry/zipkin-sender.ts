import http from 'node:http';
import https from 'node:https';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';

type Send = (zipkinSpans: unknown[], done: (result: ExportResult) => void) => void;

/**
 * The Zipkin exporter's POST, with what its own sender lacks: a deadline.
 * Without one, a backend that accepts connections and never answers keeps
 * each export's socket open forever (one more every second). Kept-alive
 * connections are reused, so a healthy backend costs no new handshake per batch.
 */
export function sendWithDeadline(url: string, headers: Record<string, string>, timeoutMs: number): Send {
  const target = new URL(url);
  const transport = target.protocol === 'https:' ? https : http;
  const agent = new transport.Agent({ keepAlive: true, maxSockets: 2 });
  return (zipkinSpans, done) => {
    if (zipkinSpans.length === 0) return done({ code: ExportResultCode.SUCCESS });
    let finished = false;
    const finish = (result: ExportResult) => {
      if (finished) return;
      finished = true;
      done(result);
    };
    const request = transport.request(target, { method: 'POST', agent, headers: { 'content-type': 'application/json', ...headers } }, (response) => {
      response.resume(); // the body says nothing we need
      response.on('end', () =>
        finish(
          (response.statusCode ?? 0) < 400
            ? { code: ExportResultCode.SUCCESS }
            : { code: ExportResultCode.FAILED, error: new Error(`Zipkin answered ${response.statusCode}`) },
        ),
      );
    });
    request.setTimeout(timeoutMs, () => request.destroy(new Error(`Zipkin did not answer within ${timeoutMs} ms`)));
    request.on('error', (error) => finish({ code: ExportResultCode.FAILED, error }));
    request.end(JSON.stringify(zipkinSpans));
  };
}
