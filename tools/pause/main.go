// The pod sandbox ("pause") container of the real-cluster tests' node: it holds the
// pod's namespaces, reaps orphaned children (it is PID 1 when a pod shares its process
// namespace) and exits when told to stop. Our own few lines instead of
// registry.k8s.io/pause, which cannot be pulled on these machines.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	signals := make(chan os.Signal, 4)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range signals {
		if s != syscall.SIGCHLD {
			return
		}
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
