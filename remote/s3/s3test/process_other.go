//go:build !linux

package s3test

import "syscall"

// childAttr: without Pdeathsig, Stop is the only way MinIO ends.
func childAttr() *syscall.SysProcAttr { return nil }
