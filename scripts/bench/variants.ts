import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');

/** A text edit whose result shows in the served answer. */
export interface ServedEdit {
  /** File under the variant's folder. */
  file: string;
  /** Exact text to replace (must occur once). */
  from: string;
  /** The replacement for a given marker; the answer then contains the marker. */
  to: (marker: string) => string;
}

export interface Variant {
  name: string;
  /** Folder with package.json (its `dev` script is what runs) and src/. */
  source: string;
  /** GET path answered 200 once the process serves. */
  probePath: string;
  edit: ServedEdit;
  env?: Record<string, string>;
  /** Removes the telemetry preload from the dev script (to price telemetry). */
  withoutTelemetry?: boolean;
  /** Needs a running business-logic (BUSINESS_LOGIC_URL). */
  callsBusinessLogic?: boolean;
  /** Part of the budget rows (others are informational). */
  budgeted?: boolean;
}

const PRELOAD_FLAG = '--import @meshloop/service-runtime/preload';

const fastAnswer: ServedEdit = { file: 'src/app.ts', from: "endpoint: 'fast'", to: (m) => `endpoint: '${m}'` };

export const BASELINE = 'bare-express';

/** What the benchmark compares: the bare baseline and the services as a developer runs them. */
export function variants(quick: boolean): Variant[] {
  const all: Variant[] = [
    {
      name: BASELINE,
      source: path.join(repoRoot, 'scripts/bench/fixtures/bare-express'),
      probePath: '/fast',
      edit: { file: 'src/server.ts', from: "endpoint: 'fast'", to: (m) => `endpoint: '${m}'` },
      budgeted: true,
    },
    { name: 'business-logic', source: path.join(repoRoot, 'services/business-logic'), probePath: '/fast', edit: fastAnswer, budgeted: true },
    {
      name: 'frontend',
      source: path.join(repoRoot, 'services/frontend'),
      probePath: '/api/fast',
      edit: { file: 'src/app.ts', from: 'service: config.service.name,', to: (m) => `service: '${m}',` },
      callsBusinessLogic: true,
      budgeted: true,
    },
    { name: 'business-logic, no telemetry', source: path.join(repoRoot, 'services/business-logic'), probePath: '/fast', edit: fastAnswer, withoutTelemetry: true },
    {
      name: 'business-logic, all auto-instrumentations',
      source: path.join(repoRoot, 'services/business-logic'),
      probePath: '/fast',
      edit: fastAnswer,
      env: { MESHLOOP_INSTRUMENTATIONS: 'all' },
    },
  ];
  return quick ? all.filter((v) => v.budgeted) : all;
}

/**
 * Copies a variant's package.json and src/ under .cache/bench, so edits never
 * touch the repository's sources. Module resolution still walks up to the
 * repository's node_modules (workspace packages included).
 */
export function prepareWorkCopy(variant: Variant, index: number): string {
  const dir = path.join(repoRoot, '.cache', 'bench', `${index}-${variant.name.replace(/[^a-z0-9]+/gi, '-')}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(path.join(variant.source, 'src'), path.join(dir, 'src'), { recursive: true });
  const pkg = JSON.parse(readFileSync(path.join(variant.source, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  if (variant.withoutTelemetry) {
    if (!pkg.scripts.dev?.includes(PRELOAD_FLAG)) throw new Error(`${variant.source}: dev script has no "${PRELOAD_FLAG}"`);
    pkg.scripts.dev = pkg.scripts.dev.replace(` ${PRELOAD_FLAG}`, '');
  }
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
  const edited = readFileSync(path.join(dir, variant.edit.file), 'utf8');
  if (edited.split(variant.edit.from).length !== 2) throw new Error(`${variant.name}: "${variant.edit.from}" must occur exactly once in ${variant.edit.file}`);
  return dir;
}
