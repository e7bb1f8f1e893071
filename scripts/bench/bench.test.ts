import { describe, expect, it } from 'vitest';
import { END_MARK, renderTable, spliceResults, START_MARK, budgetRow, times } from './report';
import { runBench } from './run';

describe('benchmark report', () => {
  it('judges budgets both ways', () => {
    expect(budgetRow('ratio', 1.2, { max: 1.3 }, times)).toEqual({ figure: 'ratio', value: '1.20×', budget: '≤ 1.30×', pass: true });
    expect(budgetRow('ratio', 1.31, { max: 1.3 }, times).pass).toBe(false);
    expect(budgetRow('throughput', 0.4, { min: 0.5 }, times)).toMatchObject({ budget: '≥ 0.50×', pass: false });
  });

  it('replaces only the results between the markers', () => {
    const document = `# Benchmarks\nintro\n${START_MARK}\nold table\n${END_MARK}\nhistory stays\n`;
    const table = renderTable([{ figure: 'f', value: '1 ms' }], new Date('2026-01-02T03:04:00Z'), 'test machine');
    const result = spliceResults(document, table);
    expect(result).toContain('intro');
    expect(result).toContain('history stays');
    expect(result).not.toContain('old table');
    expect(result).toContain('| f | 1 ms | – | recorded |');
    expect(result).toContain('Measured 2026-01-02 03:04 UTC on test machine.');
    expect(() => spliceResults('no markers', table)).toThrow(/bench:results/);
  });
});

describe('npm run bench -- --quick', () => {
  it('measures every figure of the table: edits, cold starts, RSS, throughput, footprint, dependency weight', async () => {
    const rows = await runBench({ quick: true });
    const figures = rows.map((r) => r.figure);
    const expectRow = (pattern: RegExp) => expect(figures.some((f) => pattern.test(f)), `a row matching ${pattern}`).toBe(true);
    for (const name of ['bare-express', 'business-logic', 'frontend']) {
      expectRow(new RegExp(`^Edit → served, ${name} \\(median`));
      expectRow(new RegExp(`^Cold start to first 200, ${name}`));
      expectRow(new RegExp(`^RSS after start, ${name}`));
    }
    for (const name of ['business-logic', 'frontend']) {
      expectRow(new RegExp(`^Edit → served ratio, ${name} /`));
      expectRow(new RegExp(`^Cold start ratio, ${name} /`));
      expectRow(new RegExp(`^Production dependencies of ${name}`));
    }
    expectRow(/^Throughput ratio/);
    for (const profile of ['full', 'lite']) {
      expectRow(new RegExp(`^Cluster CPU requests, profile ${profile}`));
      expectRow(new RegExp(`^Cluster memory requests, profile ${profile}`));
      expectRow(new RegExp(`^Cluster memory limits, profile ${profile}`));
    }
    expectRow(/^Image build, business-logic dev/);
    expectRow(/^Image size, frontend prod/);
    expectRow(/^In-container edit → served \(Tilt's tar sync via docker exec\), business-logic/);
    expectRow(/^In-container edit → served ratio/);
    for (const name of ['service-runtime', 'business-logic', 'frontend']) expectRow(new RegExp(`^Save → test result in Tilt, ${name}-tests`));
    expectRow(/^Save → all test results after a service-runtime edit/);
    // Every budgeted row is judged, every value is a measured number.
    for (const row of rows) {
      expect(row.value, row.figure).toMatch(/\d/);
      if (row.budget) expect(typeof row.pass, row.figure).toBe('boolean');
    }
    // 5 of the host run, 3 footprint rows per profile, 3 of the container section (scripts/bench/container.ts).
    expect(rows.filter((r) => r.budget).length).toBe(14);
  }, 600_000);
});
