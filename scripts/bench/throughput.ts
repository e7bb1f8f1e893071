import autocannon from 'autocannon';

export interface ThroughputResult {
  requestsPerSecond: number;
  p99Ms: number;
  errors: number;
  non2xx: number;
}

/** A closed-loop load (autocannon) on one URL for `seconds`. */
export async function measureThroughput(url: string, seconds: number, connections = 10): Promise<ThroughputResult> {
  const result = await autocannon({ url, connections, duration: seconds, pipelining: 1 });
  return {
    requestsPerSecond: result.requests.average,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}
