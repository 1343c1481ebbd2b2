package s3test

import "syscall"

// childAttr makes the kernel kill MinIO when the process that started it dies, so a
// test binary killed by a timeout leaves no server behind.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
