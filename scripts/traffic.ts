// Traffic generator behind the Tilt "Slow traffic" / "Fast traffic" buttons:
//   npm run traffic -- --profile slow --rate 5 --duration 30 --target http://localhost:8080
import { USAGE, UsageError, parseTrafficArgs } from './traffic/args';
import { exitCodeFor, formatSummary, runTraffic } from './traffic/run';

async function main(argv: string[]): Promise<number> {
  let options;
  try {
    options = parseTrafficArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`traffic: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    console.log(USAGE);
    return 0;
  }

  // Tilt stops a button's command (second click, tilt down) with a signal:
  // stop sending, then still print what was measured.
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());

  console.log(
    `traffic: ${options.profile} profile, ${options.rate} req/s for ${options.durationSeconds} s ` +
      `(at most ${options.maxRequests} requests) against ${options.target}`,
  );
  const result = await runTraffic(options, stop.signal);
  const summary = formatSummary(result);
  const code = exitCodeFor(result);
  (code === 0 ? console.log : console.error)(summary);
  return code;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error('traffic: unexpected error:', error);
    process.exitCode = 1;
  },
);
