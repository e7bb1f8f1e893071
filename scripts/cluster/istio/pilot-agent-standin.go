// STAND-IN for Istio's proxy image docker.io/istio/proxyv2:1.30.3 (pilot-agent + Envoy),
// used only by the real-cluster test tier (scripts/cluster/istio-images.sh builds it).
//
// Why: Envoy is C++ and exists nowhere on these machines (no Debian or npm package, no Go
// module), so the real sidecars and the real ingress gateway cannot run here. Everything
// else of Istio is real in that tier: istioctl install, istiod (pilot-discovery from the
// istio.io/istio module), its CRDs, its sidecar injection and validation webhooks. This
// program only lets the pods that the real istiod injects start and pass their probes.
//
// What it does, as the image's entrypoint (/usr/local/bin/pilot-agent), per command the
// injection templates call:
//
//	istio-iptables ...      (init container) exits 0: NO traffic interception, no iptables.
//	proxy sidecar|router    serves the agent's status ports:
//	                        :15021 /healthz/ready (probes), :15020 /healthz/ready,
//	                        /app-health/<container>/{livez,readyz,startupz} forwarded to the
//	                        app as ISTIO_KUBE_APP_PROBERS says (the injector rewrites the
//	                        app's probes to these), /stats/prometheus with the app's metrics
//	                        from ISTIO_PROMETHEUS_ANNOTATIONS (no Envoy stats), /drain,
//	                        /quitquitquit; :15090 answers with no stats.
//	                        router only: a plain HTTP forward of :8080 to the frontend
//	                        Service (no Gateway/VirtualService routing, no TLS on :8443,
//	                        no mTLS, no retries, faults, telemetry or access log).
//	wait                    exits 0 once --url (default :15021/healthz/ready) answers 200.
//	request [--debug-port=N] METHOD PATH [BODY]   one local HTTP request (preStop drain).
//	version                 says it is a stand-in.
//
// Ports are the real ones; tests on a shared host move them (--statusPort, and
// MESHLOOP_STANDIN_READY_PORT / _STATS_PORT / _GATEWAY_PORT for Envoy's 15021, 15090, 8080).
// No mesh policy is enforced by it: routing, faults, mTLS and authorization are not
// exercised in the cluster tier, only validated (istiod webhook, istioctl analyze).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const name = "[proxyv2 stand-in: no Envoy]"

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s %s %s\n", time.Now().UTC().Format(time.RFC3339), name, fmt.Sprintf(format, args...))
}

func main() {
	if len(os.Args) < 2 {
		logf("usage: pilot-agent istio-iptables|proxy|wait|request|version ...")
		os.Exit(2)
	}
	args := os.Args[2:]
	switch os.Args[1] {
	case "istio-iptables":
		logf("istio-iptables %s: not applied (no traffic interception in this stand-in)", strings.Join(args, " "))
	case "proxy":
		os.Exit(proxy(args))
	case "wait":
		os.Exit(wait(args))
	case "request":
		os.Exit(request(args))
	case "version":
		fmt.Println("stand-in for pilot-agent 1.30.3 (no Envoy)")
	default:
		logf("unsupported command %q %v", os.Args[1], args)
		os.Exit(2)
	}
}

// flagValue returns --name=value or --name value from args (the injected commands use both).
func flagValue(args []string, flag string) (string, bool) {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+flag+"="); ok {
			return v, true
		}
		if a == "--"+flag && i+1 < len(args) {
			return args[i+1], true
		}
	}
	return "", false
}

// positional drops --flags (and the value of a "--flag value" pair given in valued).
func positional(args []string, valued ...string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "--") {
			for _, v := range valued {
				if a == "--"+v {
					i++
				}
			}
			continue
		}
		out = append(out, a)
	}
	return out
}

func wait(args []string) int {
	target := "http://localhost:15021/healthz/ready"
	if v, ok := flagValue(args, "url"); ok {
		target = v
	}
	timeout := 60 * time.Second
	if v, ok := flagValue(args, "timeoutSeconds"); ok {
		if n, err := strconv.Atoi(v); err == nil {
			timeout = time.Duration(n) * time.Second
		}
	}
	client := &http.Client{Timeout: 500 * time.Millisecond}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(target)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				logf("wait: %s is ready", target)
				return 0
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			logf("wait: %s not ready after %s: %v", target, timeout, err)
			return 1
		}
		time.Sleep(500 * time.Millisecond)
	}
}

func request(args []string) int {
	port := "15000"
	if v, ok := flagValue(args, "debug-port"); ok {
		port = v
	}
	rest := positional(args, "debug-port")
	if len(rest) < 2 {
		logf("request: need METHOD PATH [BODY]")
		return 2
	}
	var body io.Reader
	if len(rest) > 2 {
		body = strings.NewReader(rest[2])
	}
	req, err := http.NewRequest(rest[0], "http://localhost:"+port+"/"+strings.TrimPrefix(rest[1], "/"), body)
	if err != nil {
		logf("request: %v", err)
		return 1
	}
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		logf("request: %v", err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(os.Stdout, resp.Body)
	if resp.StatusCode >= 300 {
		return 1
	}
	return 0
}

// intOrString is a probe port as the injector writes it (a number, or a numeric string).
type intOrString string

func (p *intOrString) UnmarshalJSON(b []byte) error {
	*p = intOrString(strings.Trim(string(b), `"`))
	return nil
}

type prober struct {
	HTTPGet *struct {
		Path        string      `json:"path"`
		Port        intOrString `json:"port"`
		Scheme      string      `json:"scheme"`
		HTTPHeaders []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"httpHeaders"`
	} `json:"httpGet"`
	TCPSocket *struct {
		Port intOrString `json:"port"`
	} `json:"tcpSocket"`
	TimeoutSeconds int `json:"timeoutSeconds"`
}

func proxy(args []string) int {
	role := "sidecar"
	if rest := positional(args, "domain", "serviceCluster", "stsPort", "statusPort"); len(rest) > 0 {
		role = rest[0]
	}
	if role != "sidecar" && role != "router" {
		logf("proxy %s: unsupported role", role)
		return 2
	}
	// Probes go to the pod's IP like the real agent's (INSTANCE_IP), else to loopback.
	appHost := os.Getenv("INSTANCE_IP")
	if appHost == "" {
		appHost = "127.0.0.1"
	}
	probers := map[string]prober{}
	if v := os.Getenv("ISTIO_KUBE_APP_PROBERS"); v != "" {
		if err := json.Unmarshal([]byte(v), &probers); err != nil {
			logf("ISTIO_KUBE_APP_PROBERS: %v", err)
			return 1
		}
	}
	var scrape struct{ Scrape, Path, Port string }
	if v := os.Getenv("ISTIO_PROMETHEUS_ANNOTATIONS"); v != "" {
		if err := json.Unmarshal([]byte(v), &scrape); err != nil {
			logf("ISTIO_PROMETHEUS_ANNOTATIONS: %v", err)
			return 1
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	quit := make(chan struct{}, 1)
	ready := func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }

	status := http.NewServeMux()
	status.HandleFunc("/healthz/ready", ready)
	status.HandleFunc("/app-health/", func(w http.ResponseWriter, r *http.Request) { appProbe(w, r, probers, appHost) })
	status.HandleFunc("/app-lifecycle/", func(w http.ResponseWriter, r *http.Request) { appProbe(w, r, probers, appHost) })
	metrics := func(w http.ResponseWriter, r *http.Request) {
		appMetrics(w, r, scrape.Scrape, scrape.Port, scrape.Path)
	}
	status.HandleFunc("/stats/prometheus", metrics)
	status.HandleFunc("/metrics", metrics)
	status.HandleFunc("/drain", ready)
	status.HandleFunc("/quitquitquit", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		select {
		case quit <- struct{}{}:
		default:
		}
	})
	readiness := http.NewServeMux()
	readiness.HandleFunc("/healthz/ready", ready)
	envoyStats := http.NewServeMux()
	envoyStats.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, "# stand-in: no Envoy, so no Envoy stats\n")
	})

	// The real ports; tests on a shared host move them (the agent's own --statusPort flag,
	// MESHLOOP_STANDIN_*_PORT for the ones Envoy would serve).
	statusPort, _ := flagValue(args, "statusPort")
	servers := map[string]http.Handler{
		":" + or(statusPort, "15020"):                               status,
		":" + or(os.Getenv("MESHLOOP_STANDIN_READY_PORT"), "15021"): readiness,
		":" + or(os.Getenv("MESHLOOP_STANDIN_STATS_PORT"), "15090"): envoyStats,
	}
	if role == "router" {
		upstream := os.Getenv("MESHLOOP_STANDIN_GATEWAY_UPSTREAM")
		if upstream == "" {
			upstream = "http://frontend.meshloop.svc.cluster.local:8080"
		}
		target, err := url.Parse(upstream)
		if err != nil {
			logf("gateway upstream %q: %v", upstream, err)
			return 1
		}
		forward := httputil.NewSingleHostReverseProxy(target)
		rewrite := forward.Director
		forward.Director = func(r *http.Request) {
			host := r.Host
			rewrite(r)
			r.Host = host // like the gateway: the app sees the host the client asked for
		}
		servers[":"+or(os.Getenv("MESHLOOP_STANDIN_GATEWAY_PORT"), "8080")] = forward
		logf("router: forwarding :8080 to %s (plain HTTP; no Istio routing)", upstream)
	}

	errs := make(chan error, len(servers))
	var running []*http.Server
	for addr, h := range servers {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			logf("listen %s: %v", addr, err)
			return 1
		}
		s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		running = append(running, s)
		go func() { errs <- s.Serve(l) }()
	}
	logf("proxy %s: status ports up (app probers: %d, app metrics: %q)", role, len(probers), scrape.Port)

	select {
	case <-ctx.Done():
		logf("signal: exiting")
	case <-quit:
		logf("/quitquitquit: exiting")
	case err := <-errs:
		if !errors.Is(err, http.ErrServerClosed) {
			logf("server: %v", err)
			return 1
		}
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, s := range running {
		_ = s.Shutdown(shutdown)
	}
	return 0
}

func or(value, fallback string) string {
	if value == "" {
		return fallback
	}
	return value
}

func appProbe(w http.ResponseWriter, r *http.Request, probers map[string]prober, host string) {
	p, ok := probers[r.URL.Path]
	if !ok {
		http.Error(w, "app prober config does not exist for "+r.URL.Path, http.StatusBadRequest)
		return
	}
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	switch {
	case p.HTTPGet != nil:
		scheme := "http"
		if strings.EqualFold(p.HTTPGet.Scheme, "https") {
			scheme = "https"
		}
		target := scheme + "://" + net.JoinHostPort(host, string(p.HTTPGet.Port)) + "/" + strings.TrimPrefix(p.HTTPGet.Path, "/")
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, target, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		for _, h := range p.HTTPGet.HTTPHeaders {
			req.Header.Set(h.Name, h.Value)
		}
		client := &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer resp.Body.Close()
		code := resp.StatusCode
		if code >= 300 && code < 400 {
			code = http.StatusOK // like the agent: a redirect counts as success
		}
		w.WriteHeader(code)
		_, _ = io.Copy(w, io.LimitReader(resp.Body, 10<<10))
	case p.TCPSocket != nil:
		c, err := net.DialTimeout("tcp", net.JoinHostPort(host, string(p.TCPSocket.Port)), timeout)
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_ = c.Close()
		w.WriteHeader(http.StatusOK)
	default:
		http.Error(w, "stand-in supports httpGet and tcpSocket probes only", http.StatusInternalServerError)
	}
}

// appMetrics passes the app's own scrape through (with the scraper's Accept header, so
// OpenMetrics exemplars survive), as the agent's merged endpoint does minus Envoy's stats.
func appMetrics(w http.ResponseWriter, r *http.Request, enabled, port, path string) {
	if enabled == "" || enabled == "false" || port == "" {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		_, _ = io.WriteString(w, "# stand-in: no Envoy stats and no app metrics configured\n")
		return
	}
	if path == "" {
		path = "/metrics"
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, "http://localhost:"+port+path, nil)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	if a := r.Header.Get("Accept"); a != "" {
		req.Header.Set("Accept", a)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}
