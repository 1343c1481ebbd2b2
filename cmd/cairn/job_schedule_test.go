package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/schedule"
)

// fakeSystem stands for systemctl and crontab: it records each command line and
// keeps one crontab.
type fakeSystem struct {
	calls     []string
	tab       []byte
	failCtl   bool
	noCrontab bool
}

func (f *fakeSystem) run(_ context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	line := name + " " + strings.Join(args, " ")
	f.calls = append(f.calls, line)
	switch {
	case name == "systemctl" && f.failCtl:
		return nil, errors.New("exit status 1: Failed to connect to bus")
	case line == "crontab -l" && f.tab == nil:
		return nil, errors.New("exit status 1: no crontab for ann")
	case line == "crontab -l":
		return f.tab, nil
	case line == "crontab -":
		f.tab = append([]byte(nil), stdin...)
	}
	return nil, nil
}

func testScheduler(t *testing.T, f *fakeSystem, system bool) (*scheduler, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	s := &scheduler{
		out: &out, errOut: &errOut, system: system, unitDir: filepath.Join(t.TempDir(), "units"),
		binary:     func() (string, error) { return "/usr/local/bin/cairn", nil },
		findConfig: func(string) (string, error) { return "/etc/cairn/profiles.toml", nil },
		lookPath: func(name string) (string, error) {
			if name == "crontab" && f.noCrontab || name == "ionice" {
				return "", errors.New("not found")
			}
			return "/usr/bin/" + name, nil
		},
		run: f.run,
	}
	return s, &out, &errOut
}

var at0230 = scheduleFlags{at: "02:30", randomDelay: 10 * time.Minute, nice: 10}

func TestScheduleUnits(t *testing.T) {
	f := &fakeSystem{}
	s, out, _ := testScheduler(t, f, false)
	spec, err := s.spec("home", "", at0230)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.installUnits(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	for ext, want := range map[string][]byte{".service": schedule.Service(spec), ".timer": schedule.Timer(spec)} {
		got, err := os.ReadFile(filepath.Join(s.unitDir, "cairn-job-home"+ext))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %v\n%s", ext, err, got)
		}
	}
	if !strings.Contains(string(schedule.Service(spec)), "ExecStart=/usr/local/bin/cairn job run home --config /etc/cairn/profiles.toml") {
		t.Errorf("service:\n%s", schedule.Service(spec))
	}
	want := "systemctl --user daemon-reload|systemctl --user enable --now cairn-job-home.timer"
	if got := strings.Join(f.calls, "|"); got != want {
		t.Errorf("ran %q, want %q", got, want)
	}
	if !strings.Contains(out.String(), "enabled cairn-job-home.timer: next run ") {
		t.Errorf("output:\n%s", out)
	}

	f.calls = nil
	if err := s.remove(context.Background(), "home"); err != nil {
		t.Fatal(err)
	}
	want = "systemctl --user disable --now cairn-job-home.timer|systemctl --user daemon-reload|crontab -l"
	if got := strings.Join(f.calls, "|"); got != want {
		t.Errorf("remove ran %q, want %q", got, want)
	}
	if ents, _ := os.ReadDir(s.unitDir); len(ents) != 0 {
		t.Errorf("left: %v", ents)
	}
	if err := s.remove(context.Background(), "home"); err == nil || !strings.Contains(err.Error(), "has no schedule") {
		t.Errorf("second remove: %v", err)
	}
}

func TestScheduleUnitsAsRootNoEnable(t *testing.T) {
	f := &fakeSystem{}
	s, out, _ := testScheduler(t, f, true)
	s.noEnable = true
	spec, err := s.spec("home", "", at0230)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.installUnits(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.calls, "|"); got != "systemctl daemon-reload" {
		t.Errorf("ran %q", got)
	}
	if !strings.Contains(out.String(), "not enabled: start with systemctl enable --now cairn-job-home.timer") {
		t.Errorf("output:\n%s", out)
	}
	if svc, _ := os.ReadFile(filepath.Join(s.unitDir, "cairn-job-home.service")); !bytes.Contains(svc, []byte("After=network-online.target")) {
		t.Errorf("system service:\n%s", svc)
	}
}

func TestScheduleDryRunChangesNothing(t *testing.T) {
	f := &fakeSystem{tab: []byte("0 * * * * date\n")}
	s, out, _ := testScheduler(t, f, false)
	s.dryRun = true
	spec, err := s.spec("home", "", at0230)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.installUnits(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	if err := s.installCron(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.unitDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dry run made %s", s.unitDir)
	}
	if got := strings.Join(f.calls, "|"); got != "crontab -l" || string(f.tab) != "0 * * * * date\n" {
		t.Errorf("dry run ran %q; crontab %q", got, f.tab)
	}
	for _, want := range []string{"would write " + s.unitDir + "/cairn-job-home.timer:\n", "OnCalendar=*-*-* 02:30:00",
		"would run: systemctl --user enable --now cairn-job-home.timer", "would add to the crontab:\n# cairn job \"home\""} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestScheduleCron(t *testing.T) {
	f := &fakeSystem{} // no crontab yet
	s, out, _ := testScheduler(t, f, false)
	spec, err := s.spec("home", "", at0230)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.installCron(ctx, spec); err != nil {
		t.Fatal(err)
	}
	f.tab = append([]byte("MAILTO=ann\n"), f.tab...)
	spec.Hour = 3
	if err := s.installCron(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if want := "MAILTO=ann\n" + schedule.CronEntry(spec); string(f.tab) != want {
		t.Errorf("crontab:\n%s\nwant:\n%s", f.tab, want)
	}
	if !strings.Contains(out.String(), "PATH=") {
		t.Errorf("the line sets no PATH:\n%s", out)
	}
	if err := s.remove(ctx, "home"); err != nil {
		t.Fatal(err)
	}
	if string(f.tab) != "MAILTO=ann\n" {
		t.Errorf("after remove: %q", f.tab)
	}
	f.noCrontab = true
	if err := s.installCron(ctx, spec); err == nil || !strings.Contains(err.Error(), "crontab is not installed") {
		t.Errorf("without crontab: %v", err)
	}
	// --dry-run shows the line all the same, and says it could not be installed here.
	s.dryRun = true
	out.Reset()
	if err := s.installCron(ctx, spec); err != nil || !strings.Contains(out.String(), schedule.CronEntry(spec)) {
		t.Errorf("dry run without crontab: %v\n%s", err, out)
	}
}

// Without a running systemd the units are still written, and the error says how to
// enable them.
func TestScheduleSystemctlFails(t *testing.T) {
	f := &fakeSystem{failCtl: true}
	s, _, _ := testScheduler(t, f, false)
	spec, _ := s.spec("home", "", at0230)
	err := s.installUnits(context.Background(), spec)
	if err == nil || !strings.Contains(err.Error(), "the units are written; enable with: systemctl --user enable --now cairn-job-home.timer") ||
		!strings.Contains(err.Error(), "Failed to connect to bus") {
		t.Errorf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.unitDir, "cairn-job-home.timer")); err != nil {
		t.Error(err)
	}
}

func TestScheduleRefuses(t *testing.T) {
	s, _, _ := testScheduler(t, &fakeSystem{}, false)
	if _, err := s.spec("home", "", scheduleFlags{nice: 10}); err == nil || !strings.Contains(err.Error(), "--at") {
		t.Errorf("no --at: %v", err)
	}
	if _, err := s.spec("home", "", scheduleFlags{at: "25:00"}); err == nil {
		t.Error("--at 25:00 accepted")
	}
	s.binary = func() (string, error) { return "/tmp/go-build123/b001/exe/cairn", nil }
	if _, err := s.spec("home", "", at0230); err == nil || !strings.Contains(err.Error(), "temporary build") {
		t.Errorf("go run binary: %v", err)
	}
}
