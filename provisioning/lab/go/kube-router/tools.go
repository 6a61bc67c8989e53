//go:build tools

// Package tools pins kube-router; the lab builds its cmd/kube-router.
package tools

import _ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"
