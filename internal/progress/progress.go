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

// Ticker calls fn every interval until Stop; for --json status lines.
type Ticker struct {
	cancel context.CancelFunc
	g      *errgroup.Group
}

// Tick starts calling fn every interval; a nil fn starts nothing.
func Tick(interval time.Duration, fn func()) *Ticker {
	if fn == nil {
		return &Ticker{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	g := &errgroup.Group{}
	g.Go(func() error {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				fn()
			}
		}
	})
	return &Ticker{cancel: cancel, g: g}
}

// Stop ends the ticker and waits for a call in progress.
func (t *Ticker) Stop() {
	if t.cancel == nil {
		return
	}
	t.cancel()
	_ = t.g.Wait()
}

// Bar polls sample every interval and draws a bar on w until stop is called.
type Bar struct {
	bar    *progressbar.ProgressBar
	ticker *Ticker
	sample func() Sample
	max    int64 // the bar's length; -1 while the total is unknown (a spinner)
}

// Start begins drawing when enabled; a disabled Bar does nothing.
func Start(w io.Writer, enabled bool, desc string, sample func() Sample) *Bar {
	if !enabled {
		return &Bar{}
	}
	b := &Bar{sample: sample, max: -1}
	if s := sample(); s.Total > 0 {
		b.max = s.Total
	}
	// The bar must start as a spinner (-1), not at 0, when the total is unknown: a bar
	// of length 0 counts as finished at once and, cleared on finish, never draws.
	b.bar = progressbar.NewOptions64(b.max,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowCount(), // done and total: "3.0/100 MiB"
		progressbar.OptionUseIECUnits(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionShowElapsedTimeOnFinish(),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionFullWidth(),
		progressbar.OptionClearOnFinish(),
		// Our ticker redraws the spinner; the library's own spinner goroutine reads
		// the bar's state without its lock (a data race under -race).
		progressbar.OptionSetSpinnerChangeInterval(0),
	)
	b.ticker = Tick(250*time.Millisecond, func() { b.draw(desc) })
	return b
}

func (b *Bar) draw(desc string) {
	s := b.sample()
	if s.Total > 0 && (b.max < 0 || s.Done > b.max || s.Total > b.max) {
		b.max = max(s.Total, s.Done)
		b.bar.ChangeMax64(b.max)
	}
	b.bar.Describe(desc + " " + s.Detail)
	_ = b.bar.Set64(s.Done)
}

// Stop removes the bar so the summary prints on a clean line.
func (b *Bar) Stop() {
	if b.bar == nil {
		return
	}
	b.ticker.Stop()
	_ = b.bar.Clear()
	_ = b.bar.Exit()
}
