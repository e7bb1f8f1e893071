import { describe, expect, it } from 'vitest';
import { DEFAULTS, LIMITS, UsageError, parseTrafficArgs } from './args';

function parsed(argv: string[]) {
  const result = parseTrafficArgs(argv);
  if (result === 'help') throw new Error('unexpected help');
  return result;
}

describe('traffic CLI arguments', () => {
  it('uses the documented defaults: mixed, 5 req/s, 30 s, the gateway on localhost:8080', () => {
    expect(parsed([])).toEqual({
      profile: 'mixed',
      rate: 5,
      durationSeconds: 30,
      target: 'http://localhost:8080',
      maxRequests: 150,
      timeoutMs: DEFAULTS.timeoutMs,
    });
  });

  it('accepts every option and strips a trailing slash from the target', () => {
    expect(
      parsed(['--profile', 'slow', '--rate', '0.5', '--duration', '4', '--target', 'http://127.0.0.1:9999/base/', '--max-requests', '3', '--timeout-ms', '250']),
    ).toEqual({ profile: 'slow', rate: 0.5, durationSeconds: 4, target: 'http://127.0.0.1:9999/base', maxRequests: 3, timeoutMs: 250 });
  });

  it('plans rate x duration requests, rounded up, at least one', () => {
    expect(parsed(['--rate', '3', '--duration', '2.5']).maxRequests).toBe(8);
    expect(parsed(['--rate', '0.1', '--duration', '1']).maxRequests).toBe(1);
  });

  it('returns help for --help', () => {
    expect(parseTrafficArgs(['--help'])).toBe('help');
  });

  it.each([
    [['--profile', 'medium'], /--profile must be slow, fast or mixed, got 'medium'/],
    [['--rate', '0'], /--rate must be a number greater than 0 and at most 200, got '0'/],
    [['--rate', String(LIMITS.maxRate + 1)], /--rate .*at most 200/],
    [['--rate', 'abc'], /--rate .*got 'abc'/],
    [['--rate', ''], /--rate .*got ''/],
    [['--duration', '601'], /--duration must be a number greater than 0 and at most 600, got '601'/],
    [['--duration', '-1'], /--duration/],
    [['--max-requests', '2.5'], /--max-requests must be a whole number/],
    [['--max-requests', '1000000'], /--max-requests .*at most 120000/],
    [['--timeout-ms', '60001'], /--timeout-ms .*at most 60000/],
    [['--target', 'localhost:8080'], /--target must (be an absolute http\(s\) URL|use http or https)/],
    [['--target', 'ftp://example.test'], /--target must use http or https/],
    [['--target', 'http://localhost:8080/?a=1'], /--target must not contain a query/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['extra'], /positional argument/],
  ])('rejects %j with a message naming the problem', (argv, message) => {
    expect(() => parseTrafficArgs(argv)).toThrow(UsageError);
    expect(() => parseTrafficArgs(argv)).toThrow(message);
  });
});
