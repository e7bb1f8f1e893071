// Static verification of the mesh's security posture: default-deny
// AuthorizationPolicies with least-privilege exceptions, the NetworkPolicy that
// completes them for the plaintext metrics scrapes, egress limited to the
// registry, and no route from the gateway to the observability UIs.
import { describe, expect, test } from 'vitest';
import type { IDeployment } from 'kubernetes-models/apps/v1';
import type { IVirtualService } from '@kubernetes-models/istio/networking.istio.io/v1beta1';
import type { IAuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import {
  authorizationAllows,
  checkAuthorizationPolicies,
  checkEgressTargets,
  checkGatewayExposure,
  checkNetworkPolicies,
  checkPeerAuthentication,
  gatewayServiceAccounts,
  type NetworkPeer,
} from './support/manifest-checks';
import { ofKind, type KubeObject } from './support/manifests';
import { clusterObjects, mutatedCopy } from './support/mesh';
import { meshServices } from './support/workspaces';

const { app, all, iop } = clusterObjects();

const deployment = (name: string, namespace: string) => {
  const found = ofKind<IDeployment>(all, 'Deployment').find((d) => d.metadata.name === name && d.metadata.namespace === namespace);
  if (!found) throw new Error(`no Deployment ${namespace}/${name}`);
  return found;
};
const podLabels = (name: string, namespace = 'meshloop') => deployment(name, namespace).spec!.template.metadata!.labels as Record<string, string>;
const principalOf = (namespace: string, serviceAccount: string) => `cluster.local/ns/${namespace}/sa/${serviceAccount}`;
const accountOf = (name: string, namespace: string) => deployment(name, namespace).spec!.template.spec!.serviceAccountName!;

// The callers that exist in this cluster, with their mTLS identity (undefined: no sidecar, plaintext).
const gatewayAccount = gatewayServiceAccounts(iop)[0]!.split('/')[1]!;
// Every mesh service of the workspaces calls with its ServiceAccount (a generated one too).
const services = meshServices();
const callers: Record<string, string | undefined> = {
  'ingress gateway': principalOf('istio-system', gatewayAccount),
  ...Object.fromEntries(services.map((s) => [s.name, principalOf('meshloop', accountOf(s.name, 'meshloop'))])),
  'Prometheus (no sidecar)': undefined,
};
type Caller = string;

const namespaceLabels = (name: string) => ({
  'kubernetes.io/metadata.name': name,
  ...(ofKind(all, 'Namespace').find((ns) => ns.metadata.name === name)?.metadata.labels ?? {}),
});
const peer = (name: string, namespace: string): NetworkPeer => ({ namespace, namespaceLabels: namespaceLabels(namespace), podLabels: podLabels(name, namespace) });
const prometheusPeer = peer('prometheus', 'observability');
const otherPeers: NetworkPeer[] = [
  ...services.map((s) => peer(s.name, 'meshloop')),
  peer('grafana', 'observability'),
  peer('kiali', 'observability'),
  peer('jaeger', 'observability'),
  // The ingress gateway's pods (labels of the istio-ingress chart).
  { namespace: 'istio-system', namespaceLabels: namespaceLabels('istio-system'), podLabels: { app: 'istio-ingressgateway', istio: 'ingressgateway' } },
];
// PostgreSQL's port admits business-logic's pods (v1 and v2) and no one else.
// (the check compares peers by identity: business-logic's is the one in otherPeers)
const postgresPeers = { 5432: [otherPeers.find((p) => p.podLabels.app === 'business-logic')!, peer('business-logic-v2', 'meshloop')] };

describe('authorization (istio/mesh/authorization.yaml)', () => {
  test('principals name real ServiceAccounts in the right namespaces, selectors and ports exist, meshloop denies by default', () => {
    expect(checkAuthorizationPolicies(all, gatewayServiceAccounts(iop))).toEqual([]);
    const typo = mutatedCopy(all, 'AuthorizationPolicy', 'business-logic-from-frontend', (p) => {
      (p as KubeObject & IAuthorizationPolicy).spec!.rules![0]!.from![0]!.source!.principals = ['cluster.local/ns/default/sa/frontend'];
    });
    expect(checkAuthorizationPolicies(typo, gatewayServiceAccounts(iop))).toEqual([expect.stringContaining('default/frontend does not exist')]);
    const port = mutatedCopy(all, 'AuthorizationPolicy', 'frontend-from-ingress-gateway', (p) => {
      (p as KubeObject & IAuthorizationPolicy).spec!.rules![0]!.to![0]!.operation!.ports = ['8081'];
    });
    expect(checkAuthorizationPolicies(port, gatewayServiceAccounts(iop))).toEqual([expect.stringContaining('port 8081 is no container port')]);
    const open = all.filter((o) => !(o.kind === 'AuthorizationPolicy' && o.metadata.name === 'allow-nothing'));
    expect(checkAuthorizationPolicies(open, gatewayServiceAccounts(iop))).toEqual(['namespace meshloop: no default-deny AuthorizationPolicy (empty spec)']);
  });

  test('the gateway principal is the ServiceAccount istioctl 1.30 creates for istio-ingressgateway; Prometheus\'s is the one its Deployment runs as', () => {
    expect(gatewayServiceAccounts(iop)).toEqual(['istio-system/istio-ingressgateway-service-account']);
    expect(accountOf('prometheus', 'observability')).toBe('prometheus');
    const principals = ofKind<IAuthorizationPolicy>(app, 'AuthorizationPolicy').flatMap((p) =>
      (p.spec?.rules ?? []).flatMap((r) => (r.from ?? []).flatMap((f) => f.source?.principals ?? [])),
    );
    // Exactly the identities that call something: the gateway, every service whose "meshloop" calls is not empty, Prometheus.
    const callingServices = services.filter((s) => s.calls.length > 0).map((s) => callers[s.name]);
    expect(new Set(principals)).toEqual(
      // business-logic calls no mesh service, but it is PostgreSQL's one client.
      new Set([callers['ingress gateway'], ...callingServices, callers['business-logic'], principalOf('observability', accountOf('prometheus', 'observability'))]),
    );
  });

  // Who can call what (the README's security-posture table): [caller, workload, port, verdict].
  const matrix: Array<[Caller, string, number, 'allowed' | 'denied']> = [
    ['ingress gateway', 'frontend', 8080, 'allowed'],
    ['frontend', 'frontend', 8080, 'denied'],
    ['business-logic', 'frontend', 8080, 'denied'],
    ['Prometheus (no sidecar)', 'frontend', 8080, 'denied'],
    ['frontend', 'business-logic', 8081, 'allowed'],
    ['frontend', 'business-logic-v2', 8081, 'allowed'],
    ['ingress gateway', 'business-logic', 8081, 'denied'],
    ['business-logic', 'business-logic', 8081, 'denied'],
    ['Prometheus (no sidecar)', 'business-logic', 8081, 'denied'],
    ['Prometheus (no sidecar)', 'frontend', 9464, 'allowed'],
    ['Prometheus (no sidecar)', 'business-logic', 9465, 'allowed'],
    ['Prometheus (no sidecar)', 'business-logic-v2', 9465, 'allowed'],
    ['ingress gateway', 'frontend', 9464, 'denied'],
    ['frontend', 'business-logic', 9465, 'denied'],
    ['business-logic', 'frontend', 9464, 'denied'],
    // PostgreSQL: business-logic alone (v1 and v2 run as the same ServiceAccount).
    ['business-logic', 'postgres', 5432, 'allowed'],
    ['frontend', 'postgres', 5432, 'denied'],
    ['ingress gateway', 'postgres', 5432, 'denied'],
    ['Prometheus (no sidecar)', 'postgres', 5432, 'denied'],
  ];
  test.each(matrix)('%s -> %s:%i is %s', (caller, workload, port, verdict) => {
    const principal = callers[caller];
    expect(authorizationAllows(app, { principal, namespace: 'meshloop', podLabels: podLabels(workload), port })).toBe(verdict === 'allowed');
  });

  // The same table for every service of the workspaces, derived from their "meshloop" calls:
  // a service's HTTP port admits exactly its callers (the gateway: the frontend only), its
  // metrics port exactly Prometheus.
  const derived = services.flatMap((target) =>
    Object.keys(callers).flatMap((caller): Array<[Caller, string, number, 'allowed' | 'denied']> => {
      const calls = services.find((s) => s.name === caller)?.calls.includes(target.name) ?? false;
      const app = calls || (caller === 'ingress gateway' && target.name === 'frontend');
      return [
        [caller, target.name, target.port, app ? 'allowed' : 'denied'],
        [caller, target.name, target.metricsPort, caller === 'Prometheus (no sidecar)' ? 'allowed' : 'denied'],
      ];
    }),
  );
  test.each(derived)('from the workspaces: %s -> %s:%i is %s', (caller, workload, port, verdict) => {
    expect(authorizationAllows(app, { principal: callers[caller], namespace: 'meshloop', podLabels: podLabels(workload), port })).toBe(verdict === 'allowed');
  });

  test('business-logic v1 and v2 run as the one ServiceAccount the postgres rule names', () => {
    expect(accountOf('business-logic-v2', 'meshloop')).toBe(accountOf('business-logic', 'meshloop'));
  });

  test('plaintext reaches only the metrics ports: the app ports are STRICT mTLS, so a caller without a sidecar never gets to authorization', () => {
    expect(checkPeerAuthentication(app)).toEqual([]);
    // With STRICT on 8080/8081, a plaintext request is refused by the TLS handshake itself;
    // authorization.yaml would refuse it too (no principal), so both layers agree.
    for (const [workload, port] of [...services.map((s) => [s.name, s.port] as const), ['postgres', 5432] as const]) {
      expect(authorizationAllows(app, { principal: undefined, namespace: 'meshloop', podLabels: podLabels(workload), port })).toBe(false);
    }
  });

  test('probes keep working: every probe is an httpGet that Istio rewrites to the agent (15020), and no pod turns the rewrite off', () => {
    for (const d of ofKind<IDeployment>(app, 'Deployment')) {
      expect(d.spec?.template.metadata?.annotations?.['sidecar.istio.io/rewriteAppHTTPProbers']).toBeUndefined();
      for (const c of d.spec!.template.spec!.containers) {
        // PostgreSQL speaks no HTTP: pg_isready runs inside its container over the
        // Unix socket, so neither mTLS nor authorization is in the way.
        if (d.metadata.name === 'postgres') {
          for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) expect(probe?.exec?.command?.[0]).toBe('pg_isready');
          continue;
        }
        for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) {
          expect(probe?.httpGet, `${d.metadata?.name} ${c.name}`).toBeDefined();
          expect(probe?.exec).toBeUndefined();
        }
      }
    }
  });
});

describe('network policy (istio/mesh/network-policy.yaml)', () => {
  test('metrics ports admit only the Prometheus pod; app and sidecar ports stay open', () => {
    expect(checkNetworkPolicies(app, prometheusPeer, otherPeers, postgresPeers)).toEqual([]);
    const anyone = mutatedCopy(app, 'NetworkPolicy', 'meshloop-ingress', (np) => {
      delete (np as KubeObject & INetworkPolicy).spec!.ingress![2]!.from;
    });
    expect(checkNetworkPolicies(anyone, prometheusPeer, otherPeers, postgresPeers)).toContainEqual(expect.stringContaining('port 5432 admits meshloop/frontend'));
    const open = mutatedCopy(app, 'NetworkPolicy', 'meshloop-ingress', (np) => {
      delete (np as KubeObject & INetworkPolicy).spec!.ingress![1]!.from;
    });
    expect(checkNetworkPolicies(open, prometheusPeer, otherPeers, postgresPeers)).toContainEqual(expect.stringContaining('metrics port 9464 admits meshloop'));
    const closed = mutatedCopy(app, 'NetworkPolicy', 'meshloop-ingress', (np) => {
      (np as KubeObject & INetworkPolicy).spec!.ingress![0]!.ports = [{ protocol: 'TCP', port: 8080 }];
    });
    expect(checkNetworkPolicies(closed, prometheusPeer, otherPeers, postgresPeers)).toContainEqual(expect.stringContaining('port 8081 refuses'));
    expect(checkNetworkPolicies(closed, prometheusPeer, otherPeers, postgresPeers)).toContainEqual(expect.stringContaining('sidecar port 15020'));
  });

  test('the Prometheus peer is the real Prometheus pod: the policy selects it by its namespace and app label', () => {
    expect(prometheusPeer.podLabels.app).toBe('prometheus');
    expect(deployment('prometheus', 'observability').spec?.template.metadata?.labels?.['sidecar.istio.io/inject']).toBe('false');
  });
});

describe('egress and exposure', () => {
  test('REGISTRY_ONLY egress with no ServiceEntry: everything the mesh workloads call is an in-cluster Service', () => {
    const { problems, endpoints } = checkEgressTargets(all, iop);
    expect(problems).toEqual([]);
    const callees = services.filter((s) => services.some((caller) => caller.calls.includes(s.name)));
    expect(new Set(endpoints)).toEqual(
      new Set([
        ...callees.map((s) => `${s.name}.meshloop.svc.cluster.local:${s.port}`),
        'postgres.meshloop.svc.cluster.local:5432',
        'jaeger.observability.svc.cluster.local:9411',
        'loki.observability.svc.cluster.local:3100',
      ]),
    );
    expect(ofKind(all, 'ServiceEntry')).toEqual([]);
    const external = mutatedCopy(all, 'Deployment', 'frontend', (d) => {
      (d as KubeObject & IDeployment).spec!.template.spec!.containers[0]!.env!.find((v) => v.name === 'OTEL_EXPORTER_ZIPKIN_ENDPOINT')!.value =
        'https://tracing.example.com/api/v2/spans';
    });
    expect(checkEgressTargets(external, iop).problems).toEqual([expect.stringContaining('tracing.example.com is no Service')]);
  });

  test('the observability UIs are reachable only through port-forwards: the gateway routes only into meshloop, add-on Services are ClusterIP', () => {
    expect(checkGatewayExposure(all, ['meshloop'])).toEqual([]);
    const grafana = mutatedCopy(all, 'VirtualService', 'frontend', (vs) => {
      (vs as KubeObject & IVirtualService).spec!.http!.unshift({ route: [{ destination: { host: 'grafana.observability.svc.cluster.local' } }] });
    });
    expect(checkGatewayExposure(grafana, ['meshloop'])).toEqual([expect.stringContaining('exposes grafana.observability')]);
    const nodePort = mutatedCopy(all, 'Service', 'kiali', (s) => {
      (s as KubeObject & { spec: { type: string } }).spec.type = 'NodePort';
    });
    expect(checkGatewayExposure(nodePort, ['meshloop'])).toEqual([expect.stringContaining('observability/kiali is NodePort')]);
  });
});
