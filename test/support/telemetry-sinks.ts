import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/**
 * In-test receivers for what the services export. Used where the real
 * backend cannot be asked what it received request by request (headers of
 * the exporter's POSTs, raw OTLP log records); the real Jaeger and
 * Prometheus are exercised in the observability tests.
 */

export interface ZipkinSpan {
  traceId: string;
  id: string;
  parentId?: string;
  name: string;
  kind?: 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';
  localEndpoint?: { serviceName?: string };
  tags?: Record<string, string>;
  timestamp?: number;
  duration?: number;
}

export interface Received<T> {
  items: T[];
  headers: IncomingHttpHeaders[];
}

async function readBody(req: import('node:http').IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body;
}

abstract class Sink<T> {
  readonly received: Received<T> = { items: [], headers: [] };
  private server: Server | undefined;
  url = '';

  protected abstract readonly path: string;
  protected abstract parse(body: unknown): T[];

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      try {
        const body = await readBody(req);
        if (req.method !== 'POST' || !req.url?.startsWith(this.path)) {
          res.writeHead(404).end();
          return;
        }
        this.received.headers.push(req.headers);
        this.received.items.push(...this.parse(JSON.parse(body.toString('utf8'))));
        res.writeHead(req.url.startsWith('/api/v2/spans') ? 202 : 200, { 'content-type': 'application/json' }).end('{}');
      } catch {
        res.writeHead(400).end();
      }
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${this.path}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** Zipkin v2 JSON receiver (what Jaeger's zipkin receiver accepts). */
export class ZipkinSink extends Sink<ZipkinSpan> {
  protected readonly path = '/api/v2/spans';
  protected parse(body: unknown): ZipkinSpan[] {
    return body as ZipkinSpan[];
  }

  trace(traceId: string): ZipkinSpan[] {
    return this.received.items.filter((span) => span.traceId === traceId);
  }
}

export interface OtlpLogRecord {
  traceId?: string;
  spanId?: string;
  body?: { stringValue?: string };
  severityText?: string;
  serviceName?: string;
}

interface OtlpLogsRequest {
  resourceLogs?: Array<{
    resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> };
    scopeLogs?: Array<{ logRecords?: Array<Omit<OtlpLogRecord, 'serviceName'>> }>;
  }>;
}

/** OTLP/HTTP JSON logs receiver (what Loki's /otlp endpoint accepts). */
export class OtlpLogsSink extends Sink<OtlpLogRecord> {
  protected readonly path = '/v1/logs';
  protected parse(body: unknown): OtlpLogRecord[] {
    return ((body as OtlpLogsRequest).resourceLogs ?? []).flatMap((resourceLogs) => {
      const serviceName = resourceLogs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue;
      return (resourceLogs.scopeLogs ?? []).flatMap((scope) => (scope.logRecords ?? []).map((record) => ({ ...record, serviceName })));
    });
  }
}
