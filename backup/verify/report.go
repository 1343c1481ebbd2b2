package verify

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/repo"
)

// Kind names a problem in the report; the strings are part of the JSON output.
type Kind string

// The problems verify reports. All are damage (stored bytes wrong or missing, history
// cut) except Unreadable (the storage kept failing: nothing could be concluded) and
// the warnings Fork, Forgotten, NotSaved, Replaced, PackGone and PackPruned.
const (
	SnapshotDamaged Kind = "snapshot-damaged" // a record that does not open or decode
	ChainBroken     Kind = "chain-broken"     // a snapshot's predecessor is missing or wrong
	RolledBack      Kind = "rolled-back"      // a snapshot this client saw is gone, and nothing follows it
	IndexDamaged    Kind = "index-damaged"    // an index segment that does not open or decode
	PackMissing     Kind = "pack-missing"     // an indexed pack the storage does not have
	PackSize        Kind = "pack-size"        // an indexed pack of another size than indexed
	PackDamaged     Kind = "pack-damaged"     // pack bytes that do not hash to its name
	PackHeader      Kind = "pack-header"      // a pack header that does not open or parse
	IndexMismatch   Kind = "index-mismatch"   // the index and the pack header disagree on a blob
	TreeDamaged     Kind = "tree-damaged"     // a manifest node missing, not opening or not matching
	BlobDamaged     Kind = "blob-damaged"     // a blob that is not indexed or does not open
	StoreDamaged    Kind = "store-damaged"    // a stranger in the repository: a name that is no id
	Unreadable      Kind = "unreadable"       // an object the storage failed to return, twice

	Fork      Kind = "fork"      // warning: two snapshots follow the same one (concurrent backups)
	Forgotten Kind = "forgotten" // note: a chain starts after a snapshot forget removed, or a pack only such snapshots used was pruned during the run
	NotSaved  Kind = "not-saved" // warning: what this run learned could not be recorded
	Replaced  Kind = "replaced"  // note: a record tag replaced is still there (a tag that did not finish)
	PackGone  Kind = "pack-gone" // warning: an indexed pack the storage lacks, every blob of which is stored again elsewhere
	// PackPruned, a note: a pack a prune deleted while verify ran, which no snapshot
	// still standing needs (none uses it, or what they use from it is in another pack).
	PackPruned Kind = "pack-pruned"
	// Hidden, a warning: a locked object behind delete markers or forged bytes, which
	// cairn never makes; its locked version was read, so nothing is lost, but someone
	// with the storage's keys tried to delete or replace it ('cairn repair markers').
	Hidden Kind = "hidden"
	// LockShort, a warning: an object a snapshot needs whose lock ends before the
	// snapshot's time plus lock-for (shortened under governance, or never extended).
	LockShort Kind = "lock-short"
	// LockUnchecked, a warning: the locks could not be read (keys without
	// s3:GetObjectRetention, or a store that cannot lock).
	LockUnchecked Kind = "lock-unchecked"
)

// Problem is one finding.
type Problem struct {
	Kind   Kind   `json:"kind"`
	Damage bool   `json:"damage"`
	Object string `json:"object"` // e.g. "pack 1a2b3c4d", "snapshot 5e6f7a8b"
	Detail string `json:"detail"`
}

// BadBlob is a blob that cannot be read back as stored.
type BadBlob struct {
	Type   string    `json:"type"` // data or tree
	ID     digest.ID `json:"id"`
	Pack   digest.ID `json:"pack"` // zero when the index does not know the blob
	Reason string    `json:"reason"`
}

// Affected is one file or directory of one snapshot that a bad blob makes
// unrestorable: a file whose content or chunk list is bad, a directory whose node is.
type Affected struct {
	Snapshot digest.ID   `json:"snapshot"`
	Time     time.Time   `json:"time"`
	Host     string      `json:"host"`
	Path     string      `json:"path"`
	Type     string      `json:"type"` // file or dir
	Blobs    []digest.ID `json:"blobs"`
}

// Unreferenced is a pack no snapshot needs: information for prune, not damage.
type Unreferenced struct {
	Pack   digest.ID `json:"pack"`
	Size   int64     `json:"size"`
	Reason string    `json:"reason"`
}

// Report is what a verify found.
type Report struct {
	Snapshots    int            `json:"snapshots"`
	Groups       int            `json:"groups"` // histories: snapshots of one host and set of paths
	Trees        int            `json:"trees"`  // distinct directory nodes walked
	Files        int            `json:"files"`  // file entries checked, in distinct nodes
	Packs        int            `json:"packs"`  // packs the index names
	PacksRead    int            `json:"packs_read"`
	BytesRead    int64          `json:"bytes_read"`
	Retried      int            `json:"retried"` // reads that failed once and then succeeded
	Selection    string         `json:"selection,omitempty"`
	Problems     []Problem      `json:"problems"`
	Warnings     []Problem      `json:"warnings"`
	BadBlobs     []BadBlob      `json:"bad_blobs"`
	Affected     []Affected     `json:"affected"`
	Unreferenced []Unreferenced `json:"unreferenced_packs"`
	Leftovers    Leftovers      `json:"leftovers"`       // what interrupted writes left: information
	StateSaved   bool           `json:"state_saved"`     // the packs read were recorded for --since-last
	Locks        []LockCover    `json:"locks,omitempty"` // per snapshot, with object locks only
}

// Damaged reports whether any problem is damage.
func (r *Report) Damaged() bool {
	return slices.ContainsFunc(r.Problems, func(p Problem) bool { return p.Damage })
}

type blobKey struct {
	t  repo.BlobType
	id digest.ID
}

// recorder collects findings from many goroutines, each problem once.
type recorder struct {
	mu       sync.Mutex
	problems map[[2]string]Problem
	warnings []Problem
	bad      map[blobKey]BadBlob
	retried  int
}

func newRecorder() *recorder {
	return &recorder{problems: map[[2]string]Problem{}, bad: map[blobKey]BadBlob{}}
}

func (r *recorder) problem(kind Kind, object, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := [2]string{string(kind), object}
	if _, ok := r.problems[k]; !ok {
		r.problems[k] = Problem{Kind: kind, Damage: kind != Unreadable, Object: object, Detail: detail}
	}
}

func (r *recorder) warning(kind Kind, object, detail string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.warnings = append(r.warnings, Problem{Kind: kind, Object: object, Detail: detail})
}

// badBlob records a blob that cannot be read; the first reason found is kept.
func (r *recorder) badBlob(t repo.BlobType, id, pack digest.ID, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := blobKey{t, id}
	if _, ok := r.bad[k]; !ok {
		r.bad[k] = BadBlob{Type: t.String(), ID: id, Pack: pack, Reason: reason}
	}
}

func (r *recorder) isBad(t repo.BlobType, id digest.ID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.bad[blobKey{t, id}]
	return ok
}

// badIn reports whether a bad blob was recorded in pack p.
func (r *recorder) badIn(p digest.ID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.bad {
		if b.Pack == p {
			return true
		}
	}
	return false
}

func (r *recorder) anyBad() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bad) > 0
}

func (r *recorder) retry() {
	r.mu.Lock()
	r.retried++
	r.mu.Unlock()
}

// fill copies the findings into rep in a stable order.
func (r *recorder) fill(rep *Report) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rep.Problems = make([]Problem, 0, len(r.problems))
	for _, p := range r.problems {
		rep.Problems = append(rep.Problems, p)
	}
	slices.SortFunc(rep.Problems, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Object, b.Object))
	})
	rep.Warnings = append([]Problem{}, r.warnings...)
	rep.BadBlobs = make([]BadBlob, 0, len(r.bad))
	for _, b := range r.bad {
		rep.BadBlobs = append(rep.BadBlobs, b)
	}
	slices.SortFunc(rep.BadBlobs, func(a, b BadBlob) int {
		return cmp.Or(cmp.Compare(a.Type, b.Type), cmp.Compare(a.ID.String(), b.ID.String()))
	})
	rep.Retried = r.retried
}
