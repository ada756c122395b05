//go:build !linux

package dynamolocal

import "syscall"

// procAttr puts the JVM in its own process group, which Close kills.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
