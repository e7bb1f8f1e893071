import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config';

describe('frontend config', () => {
  it('has documented defaults', () => {
    expect(loadConfig({})).toMatchObject({
      port: 8080,
      metricsPort: 9464,
      businessLogicUrl: 'http://localhost:8081',
      downstreamTimeoutMs: 5000,
      jaegerUiUrl: 'http://localhost:16686',
    });
  });

  it('reads the environment contract', () => {
    expect(loadConfig({ BUSINESS_LOGIC_URL: 'http://business-logic:8081/', DOWNSTREAM_TIMEOUT_MS: '2500', JAEGER_UI_URL: 'https://j' })).toMatchObject({
      businessLogicUrl: 'http://business-logic:8081',
      downstreamTimeoutMs: 2500,
      jaegerUiUrl: 'https://j',
    });
  });

  it.each([
    ['BUSINESS_LOGIC_URL', 'business-logic:8081'],
    ['DOWNSTREAM_TIMEOUT_MS', '0'],
    ['DOWNSTREAM_TIMEOUT_MS', 'soon'],
    ['JAEGER_UI_URL', 'javascript:alert(1)'],
    ['METRICS_PORT', '65536'],
  ])('%s=%s is rejected by name', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(name));
  });
});
