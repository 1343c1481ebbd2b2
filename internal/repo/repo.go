// Package repo is the only package that knows the repository's object layout: the
// config, key files, packs, index segments and snapshot records, and the order in which
// they are written.
package repo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairn-backup/cairn/internal/crypto"
	"github.com/cairn-backup/cairn/internal/digest"
	"github.com/cairn-backup/cairn/internal/index"
	"github.com/cairn-backup/cairn/internal/pack"
	"github.com/cairn-backup/cairn/remote"
)

// Options configure Open and Init.
type Options struct {
	Password    []byte
	StateDir    string // pins; empty disables pinning
	CacheDir    string // base cache folder; empty disables the cache
	Compression pack.Compression
	Clock       func() time.Time
	Host, User  string
	KDF         *crypto.KDF // nil means crypto.DefaultKDF()
	// TempDir is for packs being filled, on a store that cannot take them by rename
	// (a remote.FileTaker fills them in its own folder); "" is the system's.
	TempDir  string
	PackSize int // target pack size for Init; 0 means DefaultPackSize
	Format   int // format version for Init; 0 means FormatVersion
	// ChunkerFrom, for Init, is another repository's config whose chunker parameters
	// the new one takes (init --copy-chunker-params), so that files backed up into
	// both are cut into the same chunks and copied snapshots deduplicate; nil: new
	// random ones.
	ChunkerFrom *Config
	Lock        *LockConfig // object lock for Init (init --object-lock); nil: none
	// EarlyLists makes Open send a backup's run note and list snapshots, index
	// segments, packs and mark records beside its reads of the config and key file,
	// for the first loads of a backup (early.go): set it only for a Repo opened to
	// make one backup that stores (not a dry run). Without it every listing is made,
	// and the note sent, when needed.
	EarlyLists bool
}

func (o *Options) now() time.Time {
	if o.Clock != nil {
		return o.Clock()
	}
	return time.Now()
}

func (o *Options) kdf() crypto.KDF {
	if o.KDF != nil {
		return *o.KDF
	}
	return crypto.DefaultKDF()
}

// Repo is an open repository.
type Repo struct {
	store   remote.Storage
	key     *crypto.Key
	cfg     *Config
	keyName string
	opts    Options
	cache   *objectCache
	damaged damagedPacks
	locked  keptByLocks // objects deletes left to their locks

	indexOnce   sync.Once
	indexErr    error
	idx         *index.Index
	damageMu    sync.Mutex
	indexDamage []error        // segments LoadIndex skipped (degrade.go)
	short       []shortSegment // segments found stored short, to store again (short.go)
	healed      []string       // what was stored again (short.go)
	segments    []digest.ID    // the segments LoadIndexReport loaded (prefer.go)

	writersMu sync.Mutex
	stored    *stored     // set by StoredPacksOnly
	noteLate  atomic.Bool // the run note was sent again after the marks listing, or gone before the snapshot was stored
	writers   []*Writer   // every write session, so that SaveSnapshot waits for them

	early *earlyLists // Options.EarlyLists: the listings Open started

	// fromStorage holds the snapshot records this Repo read from the storage itself
	// and opened: CheckStoredSnapshot need not read them again.
	fromStorage sync.Map

	openersOnce sync.Once
	openers     chan *pack.Opener // CheckBlobs: one per core, shared by every pack checked
}

// Init creates a repository in an empty store: key file first, config last, so a
// store without a config is never mistaken for a repository.
func Init(ctx context.Context, store remote.Storage, opts Options) (*Repo, error) {
	if _, err := store.Stat(ctx, remote.Handle{Type: remote.Config}); err == nil {
		return nil, fmt.Errorf("init %s: a repository already exists there", store.Location())
	} else if !errors.Is(err, remote.ErrNotFound) {
		return nil, fmt.Errorf("init %s: %w", store.Location(), err)
	}
	cfg, err := newConfig(opts.now(), opts.PackSize, opts.Format, opts.Lock)
	if err != nil {
		return nil, err
	}
	if f := opts.ChunkerFrom; f != nil {
		cfg.Polynomial, cfg.MinChunk, cfg.AvgBits, cfg.MaxChunk = f.Polynomial, f.MinChunk, f.AvgBits, f.MaxChunk
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	c, _ := cipherFor(cfg.Version) // validate checked it
	key, err := crypto.NewRandomKey(c)
	if err != nil {
		return nil, err
	}
	r := &Repo{store: store, key: key, cfg: cfg, opts: opts}
	if err := r.lockWrites(ctx, true); err != nil {
		return nil, fmt.Errorf("init %s: %w", store.Location(), err)
	}
	if r.keyName, err = r.addKey(ctx, opts.Password); err != nil {
		return nil, err
	}
	data, err := encodeConfig(cfg, key)
	if err != nil {
		return nil, err
	}
	if err := store.Put(ctx, remote.Handle{Type: remote.Config}, remote.Bytes(data)); err != nil {
		return nil, fmt.Errorf("write config: %w", err)
	}
	if err := r.finishOpen(ctx, nil); err != nil {
		return nil, err
	}
	return r, nil
}

// Open reads the config, finds the key file the password opens, and checks the
// repository against what this client pinned.
func Open(ctx context.Context, store remote.Storage, opts Options) (*Repo, error) {
	pn, err := pinStore{opts.StateDir}.load(store.Location())
	if err != nil {
		return nil, err
	}
	r := &Repo{store: store, opts: opts}
	if opts.EarlyLists {
		r.early = startEarly(ctx, store)
	}
	if err := r.open(ctx, pn); err != nil {
		r.early.stop()
		return nil, err
	}
	return r, nil
}

func (r *Repo) open(ctx context.Context, pn *pin) error {
	hint := ""
	if pn != nil {
		hint = pn.KeyName
	}
	data, pinned, err := r.readConfig(ctx, hint)
	if err != nil {
		return err
	}
	h, err := readConfigHeader(data)
	if err != nil {
		return err
	}
	if pn != nil && pn.ID != h.ID {
		return pn.check(h.ID, digest.ID{}, h.Version)
	}
	if err := r.early.sendNote(ctx, r); err != nil {
		return err
	}
	if err := r.unlock(ctx, data, h, hint, pinned); err != nil {
		return err
	}
	if err := r.finishOpen(ctx, pn); err != nil {
		return err
	}
	return r.lockWrites(ctx, false)
}

func (r *Repo) finishOpen(ctx context.Context, pn *pin) error {
	fp := r.key.Fingerprint()
	if err := pn.check(r.cfg.ID, fp, r.cfg.Version); err != nil {
		return err
	}
	err := pinStore{r.opts.StateDir}.save(&pin{
		Location: r.store.Location(), ID: r.cfg.ID, Fingerprint: fp, Version: r.cfg.Version, KeyName: r.keyName,
	})
	if err != nil {
		return err
	}
	r.cache = newObjectCache(r.opts.CacheDir, r.cfg.ID)
	return nil
}

// Config returns the repository's configuration.
func (r *Repo) Config() Config { return *r.cfg }

// ID returns the repository id.
func (r *Repo) ID() digest.ID { return r.cfg.ID }

// KeyName returns the name of the key file that opened the repository.
func (r *Repo) KeyName() string { return r.keyName }

// Fingerprint identifies the master key.
func (r *Repo) Fingerprint() digest.ID { return r.key.Fingerprint() }

// Location names the store.
func (r *Repo) Location() string { return r.store.Location() }

// Close releases the store, and the loaded index's spill file if it has one.
func (r *Repo) Close() error {
	r.early.stop()
	var err error
	if r.idx != nil {
		err = r.idx.Close()
	}
	return errors.Join(err, r.store.Close())
}

// newIndex returns an empty index whose spill file, if it grows large enough to need
// one, lives in the repository's cache directory (the system's temporary directory
// without a cache).
func (r *Repo) newIndex() *index.Index { return index.New(index.SpillDir(r.cache.root())) }

func shortName(name string) string {
	if len(name) > 8 {
		return name[:8]
	}
	return name
}
