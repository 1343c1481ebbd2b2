package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/cairn-backup/cairn/internal/schedule"
)

// installCron puts the profile's line into the user's crontab, in place of an
// earlier one.
func (s *scheduler) installCron(ctx context.Context, spec schedule.Spec) error {
	entry := schedule.CronEntry(spec)
	tab, err := s.crontab(ctx)
	if err != nil && s.dryRun { // still show the line; installing it would fail
		fmt.Fprintf(s.errOut, "warning: %v\n", err)
	} else if err != nil {
		return err
	}
	if s.dryRun {
		fmt.Fprintf(s.out, "would add to the crontab:\n%s", entry)
		return nil
	}
	if _, err := s.run(ctx, schedule.AddCron(tab, spec), "crontab", "-"); err != nil {
		return fmt.Errorf("install crontab: %w", err)
	}
	fmt.Fprintf(s.out, "added to the crontab:\n%s", entry)
	return nil
}

// crontab returns the user's crontab; none is an empty one.
func (s *scheduler) crontab(ctx context.Context) ([]byte, error) {
	if _, err := s.lookPath("crontab"); err != nil {
		return nil, errors.New("crontab is not installed (Debian: apt-get install cron)")
	}
	tab, err := s.run(ctx, nil, "crontab", "-l")
	// crontab -l says "no crontab for USER" and exits 1 when there is none; it has
	// no other way of saying it.
	if err != nil && strings.Contains(err.Error(), "no crontab") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read crontab: %w", err)
	}
	return tab, nil
}

// remove takes away the profile's timer and crontab line, whichever exist.
func (s *scheduler) remove(ctx context.Context, name string) error {
	found, err := s.removeUnits(ctx, name)
	if err != nil {
		return err
	}
	if _, lerr := s.lookPath("crontab"); lerr == nil {
		tab, err := s.crontab(ctx)
		if err != nil {
			return err
		}
		if rest, ok := schedule.RemoveCron(tab, name); ok {
			found = true
			if s.dryRun {
				fmt.Fprintln(s.out, "would remove the crontab line")
			} else if _, err := s.run(ctx, rest, "crontab", "-"); err != nil {
				return fmt.Errorf("install crontab: %w", err)
			} else {
				fmt.Fprintln(s.out, "removed the crontab line")
			}
		}
	}
	if !found {
		return fmt.Errorf("profile %s has no schedule (no units in %s, no crontab line)", name, s.unitDir)
	}
	return nil
}

// removeUnits disables the timer and deletes both units, if they exist. A systemctl
// that fails (no systemd running) does not keep the files.
func (s *scheduler) removeUnits(ctx context.Context, name string) (bool, error) {
	base := filepath.Join(s.unitDir, schedule.UnitName(name))
	if _, err := os.Stat(base + ".timer"); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(base + ".service"); errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
	}
	if err := s.systemctlSteps(ctx, [][]string{s.systemctl("disable", "--now", filepath.Base(base)+".timer")}); err != nil {
		fmt.Fprintf(s.errOut, "warning: %v\n", err)
	}
	for _, p := range []string{base + ".timer", base + ".service"} {
		if s.dryRun {
			fmt.Fprintf(s.out, "would remove %s\n", p)
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return true, err
		}
		fmt.Fprintf(s.out, "removed %s\n", p)
	}
	if err := s.systemctlSteps(ctx, [][]string{s.systemctl("daemon-reload")}); err != nil {
		fmt.Fprintf(s.errOut, "warning: %v\n", err)
	}
	return true, nil
}
