/**
 * glibc's resolver options for this process: 1 s per try, 2 tries, unless the
 * environment already sets RES_OPTIONS.
 *
 * Why: a process cannot exit while a getaddrinfo() is pending, because Node
 * joins its thread pool on exit. With the defaults (5 s x 2 tries), an
 * unanswering DNS server (CoreDNS restarting, a resolver that drops queries)
 * held every shutdown ~10 s as soon as an exporter or a downstream call was
 * resolving a name: tsx force-kills at 5 s, Kubernetes waits out the grace
 * period. Cluster and laptop DNS answer in milliseconds, so 1 s per try is
 * ample. glibc reads RES_OPTIONS when a thread first resolves, so this must
 * run before the first lookup: the preload is the first code of the process.
 */
export const RESOLVER_OPTIONS = 'timeout:1 attempts:2';

export function boundResolverTimeouts(env: NodeJS.ProcessEnv = process.env): void {
  env.RES_OPTIONS ??= RESOLVER_OPTIONS;
}
