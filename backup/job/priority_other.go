//go:build !linux

package job

import (
	"errors"

	"github.com/cairn-backup/cairn/internal/profile"
)

func applyPriority(p *profile.Profile) error {
	if p.IONiceClass != "" {
		return errors.New("ionice-class: I/O priorities are set only on Linux")
	}
	if p.Nice != nil {
		return errors.New("nice: process priorities are set only on Linux by cairn job; use the scheduler's")
	}
	return nil
}
