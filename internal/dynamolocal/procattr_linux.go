package dynamolocal

import "syscall"

// procAttr puts the JVM in its own process group (Close kills the group) and
// asks the kernel to SIGKILL it if the test binary dies without calling
// Close, e.g. when `go test -timeout` panics.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
