//go:build tools

// Records the etcd server command this module builds, so that go mod tidy keeps its
// dependencies in go.sum. Built with: go build go.etcd.io/etcd/server/v3
package tools

import _ "go.etcd.io/etcd/server/v3"
