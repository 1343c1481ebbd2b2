// Package restore is the restore engine. It writes a snapshot, or one directory or file
// of it, into a target directory exactly (contents, holes, modes, nanosecond times,
// symlinks, hard links, xattrs and, when asked, owners and devices) and safely: the
// manifest is treated as hostile, every name is checked, every file system call works
// on one path component relative to an open directory without following symlinks, and
// nothing is ever written outside the target.
//
// A run plans first (it walks the manifest and lists every entry and every chunk),
// prepares the directories, then fetches the files' blobs in batches of files, each
// needed pack once per batch, with one ranged read per run of needed blobs, and writes
// every blob to every file and offset of the batch that uses it.
// Files are written under a temporary name and renamed into place once complete, so a
// killed restore leaves only temporary files, which the next run removes.
package restore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/cairn-backup/cairn/manifest"
)

// Overwrite says what to do with a file that already exists in the target.
type Overwrite int

// The overwrite modes; IfChanged is the default.
const (
	IfChanged Overwrite = iota // replace unless size, mtime and content match
	Always                     // always replace
	Never                      // keep whatever exists
)

var overwriteNames = [...]string{"if-changed", "always", "never"}

// ParseOverwrite accepts "if-changed", "always" or "never".
func ParseOverwrite(s string) (Overwrite, error) {
	for i, n := range overwriteNames {
		if s == n {
			return Overwrite(i), nil
		}
	}
	return 0, fmt.Errorf("unknown overwrite mode %q (want if-changed, always or never)", s)
}

// Sparse says which files are written with holes where their chunks are all zeros.
type Sparse int

// The sparse modes; Auto is the default.
const (
	SparseAuto   Sparse = iota // files the backup saw holes in
	SparseAlways               // every file
	SparseNever                // none: every byte is written
)

var sparseNames = [...]string{"auto", "always", "never"}

// ParseSparse accepts "auto", "always" or "never".
func ParseSparse(s string) (Sparse, error) {
	for i, n := range sparseNames {
		if s == n {
			return Sparse(i), nil
		}
	}
	return 0, fmt.Errorf("unknown sparse mode %q (want auto, always or never)", s)
}

// Options say what to restore, where and how.
type Options struct {
	Target  string   // directory to restore into; created if missing
	Path    string   // absolute path inside the snapshot to restore; "" or "/" for all
	Include []string // restore only matching entries (and the directories above them)
	Exclude []string // leave matching entries (and everything below them) out
	// IInclude and IExclude are Include and Exclude matched ignoring case.
	IInclude, IExclude []string
	Overwrite          Overwrite
	Sparse             Sparse
	Delete             bool // remove target entries the snapshot does not have, under what is restored
	DryRun             bool // change nothing; Log what would be done
	Verify             bool // re-read every written file and check its chunk ids
	Sync               bool // fsync every file before it is renamed into place
	Owner              bool // restore owners and groups (root restoring as root)
	Special            bool // restore setuid and setgid bits and device nodes
	Workers            int  // packs fetched in parallel; 0: a default
	Progress           *Progress
	// Log, if set, is told every change made (or, in a dry run, that would be made):
	// action is "restore", "unchanged", "keep", "link" or "delete", path a path in the
	// snapshot (in the target for "delete"). It is called from many goroutines.
	Log func(action, path string)
}

// Progress holds live counters for a progress display, updated atomically.
type Progress struct {
	Files, TotalFiles atomic.Int64 // entries done, and to do
	Bytes, TotalBytes atomic.Int64 // content bytes written or found unchanged, and to do
	Errors            atomic.Int64
}

// Problem is an entry that was not restored, or not exactly.
type Problem struct {
	Path    string // as backed up
	Err     error
	Damaged bool // the repository's data is damaged or missing
}

func (p Problem) Error() string { return fmt.Sprintf("%s: %v", p.Path, p.Err) }

// Result describes what a run did (or, in a dry run, would do).
type Result struct {
	Files, Dirs, Symlinks int64 // written or created
	Links, Specials       int64 // extra hard-link names; FIFOs and devices
	Unchanged, Kept       int64 // files left as they were: found equal; or kept (Never)
	Deleted               int64 // target entries removed (Delete)
	Bytes                 int64 // content bytes written (holes not counted)
	Problems              []Problem
	Notes                 []Problem // entries left out on purpose (sockets; devices unless Special)
	DryRun                bool
	Duration              time.Duration
}

// Damaged counts the problems caused by damaged or missing repository data.
func (r *Result) Damaged() int {
	n := 0
	for _, p := range r.Problems {
		if p.Damaged {
			n++
		}
	}
	return n
}

// ErrPartial reports a run that finished but could not restore some entries exactly;
// each is in Result.Problems, and everything else was restored.
var ErrPartial = errors.New("some entries could not be restored")

// run is one restore in progress.
type run struct {
	r     *repo.Repo
	opts  Options
	sel   *selector
	tgt   *target
	prog  *Progress
	umask int // the process's umask, -1 if unknown
	euid  int

	openFiles atomic.Int64 // temporary files held open
	noTmpfile atomic.Bool  // O_TMPFILE is not supported here

	mu       sync.Mutex
	res      Result
	problems []Problem
	notes    []Problem
}

// Run restores snap into opts.Target. It returns an error wrapping ErrPartial, with the
// Result, when some entries could not be restored; other errors mean the run could not
// start or was interrupted.
func Run(ctx context.Context, r *repo.Repo, snap repo.Snapshot, opts Options) (*Result, error) {
	start := time.Now()
	sel, err := newSelector(patterns{opts.Include, opts.Exclude, opts.IInclude, opts.IExclude})
	if err != nil {
		return nil, err
	}
	// A blob stored again after its pack was lost is read from its new pack.
	r.PresentPacksOnly()
	defer r.Reading(ctx, "restore")()
	if err := r.LoadIndex(ctx); err != nil {
		return nil, err
	}
	e := &run{r: r, opts: opts, sel: sel, prog: opts.Progress, umask: readUmask(), euid: os.Geteuid()}
	if e.prog == nil {
		e.prog = &Progress{}
	}
	p, err := e.plan(ctx, snap)
	if err != nil {
		return nil, err
	}
	if e.tgt, err = openTarget(opts.Target, opts.DryRun); err != nil {
		return nil, err
	}
	defer e.tgt.close()
	if err := e.carryOut(ctx, p); err != nil {
		return nil, err
	}
	return e.result(start)
}

// carryOut carries out a plan: directories first, then every file and other entry,
// then the directories' own metadata, deepest first, once nothing more changes inside
// them.
func (e *run) carryOut(ctx context.Context, p *plan) error {
	if err := e.prepare(ctx, p); err != nil {
		return err
	}
	if err := e.fill(ctx, p); err != nil {
		return err
	}
	e.finishDirs(ctx, p)
	return ctx.Err()
}

func (e *run) result(start time.Time) (*Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	res := e.res
	res.Problems, res.Notes = sorted(e.problems), sorted(e.notes)
	res.DryRun, res.Duration = e.opts.DryRun, time.Since(start)
	if n := len(res.Problems); n > 0 {
		return &res, fmt.Errorf("%w: %d not restored or not exactly (%d damaged in the repository)", ErrPartial, n, res.Damaged())
	}
	return &res, nil
}

func sorted(ps []Problem) []Problem {
	out := append([]Problem(nil), ps...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// problem records an entry that could not be restored exactly.
func (e *run) problem(path string, err error) {
	damaged := repo.IsDamage(err) || repo.IsMissing(err) || errors.Is(err, manifest.ErrCorrupt)
	e.prog.Errors.Add(1)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.problems = append(e.problems, Problem{Path: path, Err: err, Damaged: damaged})
}

// note records an entry left out on purpose.
func (e *run) note(path string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.notes = append(e.notes, Problem{Path: path, Err: err})
}

// count adds to a result counter and logs the action.
func (e *run) count(action, path string, field *int64) {
	e.mu.Lock()
	*field++
	e.mu.Unlock()
	if e.opts.Log != nil {
		e.opts.Log(action, path)
	}
}

func (e *run) addBytes(n int64) {
	e.mu.Lock()
	e.res.Bytes += n
	e.mu.Unlock()
	e.prog.Bytes.Add(n)
}

// readUmask reads the umask without changing it (umask(2) can only set it, and it is
// shared by every thread); -1 when /proc does not tell.
func readUmask() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
				return int(m)
			}
		}
	}
	return -1
}

func (o *Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return max(4, 2*runtime.GOMAXPROCS(0))
}

// writers is how many goroutines open blobs and create and write files: creating
// files is slow (about 1,400 a second on ext4 when done one at a time), and decryption
// should use every core.
func (o *Options) writers() int {
	return max(8, 4*runtime.GOMAXPROCS(0))
}
