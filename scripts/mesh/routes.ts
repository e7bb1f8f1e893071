// Renders istio/mesh/business-logic-routes.yaml (the committed defaults) with
// another canary weight or with Istio fault injection: only the weight and
// fault fields change, everything else (timeouts, retries, the x-canary route)
// stays as committed. Used by the Tilt buttons through scripts/mesh/cli.ts.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Document, parseAllDocuments } from 'yaml';

export const ROUTES_FILE = 'istio/mesh/business-logic-routes.yaml';
export const NAMESPACE = 'meshloop';
export const VIRTUAL_SERVICE = 'business-logic';

export interface Faults {
  /** Share of requests delayed, 0-100. */
  delayPercent: number;
  delaySeconds: number;
  /** Share of requests answered with abortStatus by the sidecar, 0-100. */
  abortPercent: number;
  abortStatus: number;
}

export interface RouteState {
  /** Percent of the default route that goes to subset v2. */
  v2Weight: number;
  faults: Faults | undefined;
}

interface Destination {
  destination?: { subset?: string };
  weight?: number;
}
interface HttpRoute {
  name?: string;
  match?: unknown[];
  route?: Destination[];
  fault?: {
    delay?: { percentage?: { value?: number }; fixedDelay?: string };
    abort?: { percentage?: { value?: number }; httpStatus?: number };
  };
}
export interface VirtualServiceLike {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: { http?: HttpRoute[] };
}

/** The committed routes file as YAML documents (DestinationRule, VirtualService), comments kept. */
export function loadRoutes(root: string): Document[] {
  const text = readFileSync(path.join(root, ROUTES_FILE), 'utf8');
  const documents = parseAllDocuments(text);
  if (!Array.isArray(documents)) throw new Error(`${ROUTES_FILE}: not a YAML stream`);
  for (const document of documents) {
    if (document.errors.length > 0) throw new Error(`${ROUTES_FILE}: ${document.errors.map((e) => e.message).join('; ')}`);
  }
  return documents;
}

export function virtualService(documents: Document[]): Document {
  const found = documents.find((d) => d.get('kind') === 'VirtualService' && d.getIn(['metadata', 'name']) === VIRTUAL_SERVICE);
  if (!found) throw new Error(`${ROUTES_FILE} has no VirtualService ${VIRTUAL_SERVICE}`);
  return found;
}

/** Index of the weighted default route: the one without a match that splits between subsets v1 and v2. */
function weightedRouteIndex(vs: VirtualServiceLike): number {
  const routes = vs.spec?.http ?? [];
  const index = routes.findIndex((r) => !r.match?.length && (r.route ?? []).some((d) => d.destination?.subset === 'v2'));
  if (index < 0) throw new Error(`VirtualService ${VIRTUAL_SERVICE} has no default route with a v2 destination`);
  return index;
}

/** Weights and faults of a VirtualService (the committed one or the live one from kubectl). */
export function readState(vs: VirtualServiceLike): RouteState {
  const route = vs.spec?.http?.[weightedRouteIndex(vs)];
  const v2Weight = route?.route?.find((d) => d.destination?.subset === 'v2')?.weight ?? 0;
  const fault = (vs.spec?.http ?? []).find((r) => r.fault)?.fault;
  const faults: Faults | undefined = fault
    ? {
        delayPercent: fault.delay?.percentage?.value ?? 0,
        delaySeconds: Number.parseFloat(fault.delay?.fixedDelay ?? '0') || 0,
        abortPercent: fault.abort?.percentage?.value ?? 0,
        abortStatus: fault.abort?.httpStatus ?? 503,
      }
    : undefined;
  return { v2Weight, faults };
}

/** Sets the default route to (100 - percent)% v1 and percent% v2. The x-canary route is untouched. */
export function setCanaryWeight(vs: Document, percent: number): void {
  validateWeight(percent);
  const index = weightedRouteIndex(vs.toJS() as VirtualServiceLike);
  const destinations = (vs.toJS() as VirtualServiceLike).spec!.http![index]!.route ?? [];
  destinations.forEach((d, i) => {
    vs.setIn(['spec', 'http', index, 'route', i, 'weight'], d.destination?.subset === 'v2' ? percent : 100 - percent);
  });
}

/**
 * Puts the same Istio fault on every business-logic route (both versions, with
 * and without x-canary), or removes it when both percentages are 0. The
 * frontend's sidecar injects it: an abort never reaches business-logic and is
 * not retried, a delay happens before the route's timeout starts.
 */
export function setFaults(vs: Document, faults: Faults | undefined): void {
  if (faults) validateFaults(faults);
  const active = faults && (faults.delayPercent > 0 || faults.abortPercent > 0) ? faults : undefined;
  const routes = (vs.toJS() as VirtualServiceLike).spec?.http ?? [];
  routes.forEach((_, index) => {
    if (!active) {
      vs.deleteIn(['spec', 'http', index, 'fault']);
      return;
    }
    const fault: Record<string, unknown> = {};
    if (active.delayPercent > 0) fault.delay = { percentage: { value: active.delayPercent }, fixedDelay: `${active.delaySeconds}s` };
    if (active.abortPercent > 0) fault.abort = { percentage: { value: active.abortPercent }, httpStatus: active.abortStatus };
    vs.setIn(['spec', 'http', index, 'fault'], vs.createNode(fault));
  });
}

export function validateWeight(percent: number): void {
  if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw new Error(`canary weight must be an integer from 0 to 100, got ${percent}`);
}

export function validateFaults(f: Faults): void {
  const problems: string[] = [];
  const percent = (name: string, value: number) => {
    if (!Number.isFinite(value) || value < 0 || value > 100) problems.push(`${name} must be a number from 0 to 100, got ${value}`);
  };
  percent('delay percent', f.delayPercent);
  percent('abort percent', f.abortPercent);
  // Istio requires fixedDelay >= 1ms; 60 s bounds a typo.
  if (!Number.isFinite(f.delaySeconds) || f.delaySeconds <= 0 || f.delaySeconds > 60) problems.push(`delay seconds must be from 0.001 to 60, got ${f.delaySeconds}`);
  if (!Number.isInteger(f.abortStatus) || f.abortStatus < 200 || f.abortStatus > 599) problems.push(`abort status must be an HTTP status from 200 to 599, got ${f.abortStatus}`);
  if (problems.length > 0) throw new Error(problems.join('; '));
}

function describeWeights(v2: number): string {
  return `v1 ${100 - v2}%, v2 ${v2}%`;
}

export function describeFaults(f: Faults | undefined): string {
  if (!f || (f.delayPercent <= 0 && f.abortPercent <= 0)) return 'none';
  const parts: string[] = [];
  if (f.delayPercent > 0) parts.push(`delay ${f.delaySeconds}s on ${f.delayPercent}% of requests`);
  if (f.abortPercent > 0) parts.push(`abort with ${f.abortStatus} on ${f.abortPercent}% of requests`);
  return parts.join(', ');
}

/** A diff-like summary: `~` for a setting that changes, `=` for one that stays. */
export function summarize(before: RouteState, after: RouteState): string[] {
  const line = (what: string, from: string, to: string) => (from === to ? `  = ${what}: ${to}` : `  ~ ${what}: ${from}  ->  ${to}`);
  return [
    `${NAMESPACE}/VirtualService ${VIRTUAL_SERVICE}:`,
    line('default route weights', describeWeights(before.v2Weight), describeWeights(after.v2Weight)),
    line('x-canary: always', 'v2 100%', 'v2 100%'),
    line('faults', describeFaults(before.faults), describeFaults(after.faults)),
  ];
}

/** YAML stream of the given documents. */
export function toYaml(documents: Document[]): string {
  return documents.map((d) => d.toString()).join('---\n');
}
