import os from 'node:os';

export interface Row {
  figure: string;
  value: string;
  /** e.g. "≤ 1.3×"; absent for recorded (unbudgeted) figures. */
  budget?: string;
  pass?: boolean;
}

export function machineDescription(): string {
  const cpu = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}, Node ${process.version}`;
}

export function budgetRow(figure: string, value: number, budget: { max?: number; min?: number }, format: (n: number) => string): Row {
  const pass = (budget.max === undefined || value <= budget.max) && (budget.min === undefined || value >= budget.min);
  const limit = budget.max !== undefined ? `≤ ${format(budget.max)}` : `≥ ${format(budget.min!)}`;
  return { figure, value: format(value), budget: limit, pass };
}

export const times = (n: number): string => `${n.toFixed(2)}×`;
export const ms = (n: number): string => `${Math.round(n)} ms`;

/** The results table as Markdown, with the date and the machine it was measured on. */
export function renderTable(rows: Row[], date: Date, machine: string): string {
  const lines = [
    `Measured ${date.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine}.`,
    '',
    '| figure | value | budget | result |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.figure} | ${r.value} | ${r.budget ?? '–'} | ${r.pass === undefined ? 'recorded' : r.pass ? 'pass' : '**FAIL**'} |`),
  ];
  return lines.join('\n');
}

export const START_MARK = '<!-- bench:results:start -->';
export const END_MARK = '<!-- bench:results:end -->';

/** Replaces the results between the markers, keeping the rest of the document (history, notes). */
export function spliceResults(document: string, table: string): string {
  const start = document.indexOf(START_MARK);
  const end = document.indexOf(END_MARK);
  if (start < 0 || end < start) throw new Error(`the document has no ${START_MARK} ... ${END_MARK} section`);
  return `${document.slice(0, start + START_MARK.length)}\n${table}\n${document.slice(end)}`;
}
