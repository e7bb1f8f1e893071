import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './variants';

/**
 * What a service's production image carries in node_modules: the same
 * `npm ci --omit=dev` for the shared runtime and the service as the
 * Dockerfile's prod-deps stage, into a scratch folder, measured with du.
 */
export function productionDependencyKiB(service: string): number {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'meshloop-image-weight-'));
  try {
    for (const file of ['package.json', 'package-lock.json', '.npmrc']) cpSync(path.join(repoRoot, file), path.join(scratch, file));
    for (const workspace of ['service-runtime', 'frontend', 'business-logic']) {
      mkdirSync(path.join(scratch, 'services', workspace), { recursive: true });
      cpSync(path.join(repoRoot, 'services', workspace, 'package.json'), path.join(scratch, 'services', workspace, 'package.json'));
    }
    execFileSync(
      'npm',
      ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', '--workspace=services/service-runtime', `--workspace=services/${service}`],
      { cwd: scratch, stdio: 'ignore', timeout: 300_000 },
    );
    const du = execFileSync('du', ['-sk', '--apparent-size', path.join(scratch, 'node_modules')], { encoding: 'utf8' });
    return Number(du.split('\t')[0]);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
