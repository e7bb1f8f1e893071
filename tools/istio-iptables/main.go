// istio-iptables: Istio 1.30's sidecar traffic-capture rules, exactly what the
// istio-init container applies (pilot-agent istio-iptables runs the same
// command), built from the pinned istio.io/istio module for the test that
// checks a port-forward to a loopback-bound port passes them
// (test/istio-capture-port-forward.test.ts).
package main

import (
	"os"

	"istio.io/istio/pkg/log"
	"istio.io/istio/tools/istio-iptables/pkg/cmd"
)

func main() {
	if err := cmd.GetCommand(log.DefaultOptions()).Execute(); err != nil {
		os.Exit(1)
	}
}
