import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, logExportsOff } from '@meshloop/service-runtime';
import { waitFor } from '../../../test/support/ports';

function messagesOf(config: { zipkinEndpoint?: string; otlpLogsEndpoint?: string }): Promise<string[]> {
  const messages: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      messages.push((JSON.parse(chunk.toString()) as { msg: string }).msg);
      done();
    },
  });
  const logger = createLogger({ service: { name: 'exports-test', version: 'v1', hostname: 'h' }, destination: sink });
  logExportsOff(logger, { zipkinEndpoint: config.zipkinEndpoint, otlpLogsEndpoint: config.otlpLogsEndpoint });
  logger.info('end');
  return waitFor('the end line', () => (messages.includes('end') ? messages.filter((m) => m !== 'end') : undefined), 2000);
}

describe('telemetry exports that are off are said once, at start', () => {
  it('when neither backend is deployed, one line says trace export is off and one that log export is off', async () => {
    const messages = await messagesOf({});
    expect(messages).toHaveLength(2);
    expect(messages[0]).toMatch(/^trace export off: OTEL_EXPORTER_ZIPKIN_ENDPOINT is not set/);
    expect(messages[1]).toMatch(/^log export off: OTEL_EXPORTER_OTLP_LOGS_ENDPOINT is not set/);
  });

  it('when only Jaeger is deployed (the lite profile), only log export is said to be off', async () => {
    const messages = await messagesOf({ zipkinEndpoint: 'http://jaeger:9411/api/v2/spans' });
    expect(messages).toEqual([expect.stringMatching(/^log export off/)]);
  });

  it('when both are deployed, nothing is said', async () => {
    expect(await messagesOf({ zipkinEndpoint: 'http://j/api/v2/spans', otlpLogsEndpoint: 'http://l/otlp/v1/logs' })).toEqual([]);
  });
});
