import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './tools';

/** Rows of the first Markdown table under a `## <heading>` of docs/service-contract.md (cells trimmed). */
export function contractTable(heading: string): string[][] {
  const text = readFileSync(path.join(repoRoot, 'docs', 'service-contract.md'), 'utf8');
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.trim() === `## ${heading}`);
  if (start < 0) throw new Error(`docs/service-contract.md has no "## ${heading}" section`);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('## ')) break;
    if (!line.trim().startsWith('|')) {
      if (rows.length > 0) break;
      continue;
    }
    rows.push(line.trim().replace(/^\||\|$/g, '').split('|').map((cell) => cell.trim()));
  }
  // Drop the header row and the |---| separator.
  return rows.slice(2);
}

/** Environment variable names the services' contract defines (first column, in backticks). */
export function contractEnvNames(): Set<string> {
  const names = contractTable('Environment').flatMap(([first = '']) =>
    [...first.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((match) => match[1] ?? ''),
  );
  if (names.length === 0) throw new Error('docs/service-contract.md lists no environment variables');
  return new Set(names);
}
