//go:build tools

// Package tools pins the etcd server module; the lab builds go.etcd.io/etcd/server/v3.
package tools

import _ "go.etcd.io/etcd/server/v3"
