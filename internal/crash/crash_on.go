//go:build crashpoints

package crash

import (
	"os"
	"strings"
	"syscall"
)

// Point kills the process with SIGKILL, as a power cut or the OOM killer would, when
// CAIRN_CRASH_AT names this point (name, or name:N for its N-th passage).
func Point(name string) {
	want := os.Getenv("CAIRN_CRASH_AT")
	if want == "" {
		return
	}
	at, nth, _ := strings.Cut(want, ":")
	if at != name {
		return
	}
	if nth != "" && nth != nextPassage(name) {
		return
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}
