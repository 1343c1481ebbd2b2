package job

import (
	"fmt"
	"os"
	"strconv"

	"github.com/cairn-backup/cairn/internal/profile"
	"golang.org/x/sys/unix"
)

// ioprio_set's classes and "who" (linux/ioprio.h).
const (
	ioprioClassShift = 13
	ioprioWhoProcess = 1
)

var ioprioClasses = map[string]int{"realtime": 1, "best-effort": 2, "idle": 3}

// applyPriority sets the profile's nice and ionice levels on every thread of the
// process (Linux keeps both per thread); threads and hooks started later inherit them.
func applyPriority(p *profile.Profile) error {
	if p.Nice == nil && p.IONiceClass == "" {
		return nil
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("priority: %w", err)
	}
	prio := 0
	if p.IONiceClass != "" {
		level := 4 // the kernel's default level of best-effort
		if p.IONiceLevel != nil {
			level = *p.IONiceLevel
		}
		if p.IONiceClass == "idle" {
			level = 0
		}
		prio = ioprioClasses[p.IONiceClass]<<ioprioClassShift | level
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if p.Nice != nil {
			if err := unix.Setpriority(unix.PRIO_PROCESS, tid, *p.Nice); err != nil {
				return fmt.Errorf("nice %d: %w", *p.Nice, err)
			}
		}
		if prio != 0 {
			if _, _, e := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, uintptr(tid), uintptr(prio)); e != 0 {
				return fmt.Errorf("ionice %s: %w", p.IONiceClass, e)
			}
		}
	}
	return nil
}
