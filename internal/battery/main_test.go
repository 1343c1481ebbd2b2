package battery

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cairn-backup/cairn/internal/clitest"
	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

// cairnBin is the binary every row runs, built once by TestMain.
var cairnBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cairn-battery")
	if err != nil {
		panic(err)
	}
	if cairnBin, err = clitest.Build(dir, "cairn"); err != nil {
		panic(err)
	}
	code := s3test.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// The exit codes of RELIABILITY.md, part of the interface the rows check.
const (
	exitOK      = 0
	exitFatal   = 1
	exitPartial = 3
	exitDamage  = 4
)

// soak reports whether the long tier runs (CAIRN_SOAK=1, as make soak sets it).
func longTier() bool { return os.Getenv("CAIRN_SOAK") != "" && os.Getenv("CAIRN_SOAK") != "0" }

// tier returns short in the short tier and long in the long one.
func tier[T any](short, long T) T {
	if longTier() {
		return long
	}
	return short
}

// seed returns the battery's seed for what: CAIRN_BATTERY_SEED when set, else the
// time; either way printed, so that a failing run can be replayed.
func seed(t *testing.T, what string) uint64 {
	t.Helper()
	s := uint64(time.Now().UnixNano())
	if v := os.Getenv("CAIRN_BATTERY_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("CAIRN_BATTERY_SEED=%q: %v", v, err)
		}
		s = n
	}
	t.Logf("%s: seed %d (replay with CAIRN_BATTERY_SEED=%d)", what, s, s)
	return s
}

// figures counts what the battery did, for docs/reliability.md: printed at the end of
// each test that adds to them.
var figures struct {
	sync.Mutex
	rows, faults, kills, checked, lost int
}

func count(rows, faults, kills, checked, lost int) {
	figures.Lock()
	defer figures.Unlock()
	figures.rows += rows
	figures.faults += faults
	figures.kills += kills
	figures.checked += checked
	figures.lost += lost
}

// logFigures prints the running totals.
func logFigures(t *testing.T) {
	figures.Lock()
	defer figures.Unlock()
	t.Logf("battery so far: %d rows, %d faults injected, %d kills, %d snapshots checked byte for byte, %d lost",
		figures.rows, figures.faults, figures.kills, figures.checked, figures.lost)
}

// The fields of backup's and restore's --json summaries the rows read.
type backupSummary struct {
	Snapshot   string `json:"snapshot_id"`
	BytesTotal uint64 `json:"total_bytes"`
	BytesAdded uint64 `json:"bytes_added"`
}

type restoreSummary struct {
	Snapshot  string `json:"snapshot_id"`
	Files     int64  `json:"files"`
	Unchanged int64  `json:"unchanged"`
}

func restoreSummaryOf(t *testing.T, out string) restoreSummary {
	t.Helper()
	var sum restoreSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("restore --json: %v\n%s", err, out)
	}
	return sum
}

func backupOf(t *testing.T, out string) backupSummary {
	t.Helper()
	var sum backupSummary
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("backup --json: %v\n%s", err, out)
	}
	return sum
}

var _ = fmt.Sprint
