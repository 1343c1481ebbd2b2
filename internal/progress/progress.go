// Package progress shows a running command's progress on a terminal, and nothing
// anywhere else: under cron only errors and the final summary are printed.
package progress

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/sync/errgroup"
	"golang.org/x/term"
)

// Sample is what a command reports at each tick.
type Sample struct {
	Done, Total int64  // bytes; Total ≤ 0 when unknown (a spinner, no ETA)
	Detail      string // e.g. "1,234 files"
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// Bar polls sample every interval and draws a bar on w until stop is called.
type Bar struct {
	bar    *progressbar.ProgressBar
	cancel context.CancelFunc
	g      *errgroup.Group
	sample func() Sample
}

// Start begins drawing when enabled; a disabled Bar does nothing.
func Start(w io.Writer, enabled bool, desc string, sample func() Sample) *Bar {
	if !enabled {
		return &Bar{}
	}
	s := sample()
	bar := progressbar.NewOptions64(max(s.Total, -1),
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionSetPredictTime(s.Total > 0),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionFullWidth(),
		progressbar.OptionClearOnFinish(),
	)
	ctx, cancel := context.WithCancel(context.Background())
	g := &errgroup.Group{}
	b := &Bar{bar: bar, cancel: cancel, g: g, sample: sample}
	g.Go(func() error {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				b.draw(desc)
			}
		}
	})
	return b
}

func (b *Bar) draw(desc string) {
	s := b.sample()
	if s.Total > 0 && s.Done > s.Total {
		b.bar.ChangeMax64(s.Done)
	}
	b.bar.Describe(desc + " " + s.Detail)
	_ = b.bar.Set64(s.Done)
}

// Stop removes the bar so the summary prints on a clean line.
func (b *Bar) Stop() {
	if b.bar == nil {
		return
	}
	b.cancel()
	_ = b.g.Wait()
	_ = b.bar.Clear()
	_ = b.bar.Exit()
}
