package s3test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Op is the kind of S3 request the fault proxy saw.
type Op string

// The request kinds the proxy counts and faults.
const (
	OpPut    Op = "put"    // PUT of an object
	OpGet    Op = "get"    // GET of an object
	OpHead   Op = "head"   // HEAD of an object (a stat)
	OpList   Op = "list"   // GET of a bucket listing
	OpDelete Op = "delete" // DELETE of an object
	OpOther  Op = "other"  // bucket calls: location, creation, existence
)

// Kind is what a fault does.
type Kind int

// The faults. A kind only fires on the requests it applies to (see applies).
const (
	SlowDown    Kind = iota // 503 SlowDown with a Retry-After header
	ServerError             // 500 InternalError
	Reset                   // the connection reset, no response
	Hang                    // no answer for Config.Hang, then a reset
	Truncate                // GET: the body cut short of its Content-Length
	Flip                    // GET: one byte of the body inverted
	LiePut                  // PUT: 200 with the ETag the client expects, nothing stored
	PrefixPut               // PUT: a prefix stored, 200 with the expected ETag
	EmptyList               // LIST: no objects, and "not truncated"
	ShortList               // LIST: half the objects, and "not truncated"
	NotFound                // 404 NoSuchKey
	Trickle                 // GET: the body sent a piece at a time, Config.Trickle apart
	ShortRange              // ranged GET: a 206 for the first half of the range, headers to match
	StaleList               // LIST: objects newer than Config.Stale left out, "not truncated"
)

var kindNames = [...]string{"SlowDown", "ServerError", "Reset", "Hang", "Truncate", "Flip",
	"LiePut", "PrefixPut", "EmptyList", "ShortList", "NotFound", "Trickle", "ShortRange", "StaleList"}

func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return fmt.Sprintf("Kind(%d)", int(k))
	}
	return kindNames[k]
}

// Transient are the faults a correct client with retries survives without any loss:
// the server errs, stalls or cuts a transfer, or lies that it stored a PUT.
var Transient = []Kind{SlowDown, ServerError, Reset, Hang, Truncate, LiePut, PrefixPut}

// applies reports whether k can act on a request of op.
func (k Kind) applies(op Op) bool {
	switch k {
	case Truncate, Flip, Trickle, ShortRange:
		return op == OpGet
	case LiePut, PrefixPut:
		return op == OpPut
	case EmptyList, ShortList, StaleList:
		return op == OpList
	default:
		return true
	}
}

// Config sets up a FaultProxy. The zero value forwards everything untouched.
type Config struct {
	Upstream string // http URL of the server on 127.0.0.1
	// AccessKey and SecretKey let PrefixPut store its prefix; without them PrefixPut
	// never fires.
	AccessKey, SecretKey string

	Seed  uint64  // seeds the choice of faults, positions and lengths
	Rate  float64 // chance that a request gets a random fault
	Kinds []Kind  // drawn among those that apply; empty means Transient
	// Ops are the requests random faults hit; empty means every kind of request.
	// Scripted faults are not limited by it.
	Ops []Op
	// MaxFaults bounds the random faults (default 1000); scripted ones always fire.
	MaxFaults int
	// Hang is how long a Hang stalls before the reset (default 1s, at most 10s).
	Hang time.Duration
	// RetryAfter is the seconds a SlowDown asks the client to wait (default 1).
	RetryAfter int
	// Trickle is the pause between the 4 KiB pieces of a Trickle body (default 2ms,
	// at most 100ms): about 2 MB/s, a slow link rather than a stalled one.
	Trickle time.Duration
	// Stale is how new an object is that a StaleList leaves out (default 2s, at most
	// a minute): a listing that does not show recent writes yet.
	Stale time.Duration
	// CountOnly makes a proxy that never breaks a request (Script panics) and so
	// streams bodies in large buffers without a flush per write: a benchmark's counting
	// proxy should cost the tools it measures as little as it can.
	CountOnly bool
	// Delay holds every request this long before the proxy acts on it: the round trip
	// of a distant bucket, for benchmarks (a request's delays do not add up: each
	// request waits once, and requests in flight together wait together).
	Delay time.Duration
	// Trace, when set, is called as each request ends with its kind, its path and
	// query, and when the proxy received it and answered it, so a benchmark can find
	// the longest chain of requests one after another. Calls may come from many
	// goroutines at once.
	Trace func(op Op, target string, start, end time.Time)
}

const maxHang = 10 * time.Second

// Counts are the requests and faults a proxy saw. Benchmarks report them.
type Counts struct {
	Put, Get, Head, List, Delete, Other int64
	Faults                              int64 // faults that fired, random or scripted
}

// picker decides which fault, if any, a request gets. Safe for concurrent use.
type picker struct {
	mu       sync.Mutex
	rng      *rand.Rand
	cfg      Config
	random   int // random faults fired
	scripted map[Op][]Kind
	lists    []listFault
	counts   Counts
	fired    map[Kind]int
}

func newPicker(cfg Config) *picker {
	if len(cfg.Kinds) == 0 {
		cfg.Kinds = Transient
	}
	if cfg.MaxFaults <= 0 {
		cfg.MaxFaults = 1000
	}
	if cfg.Hang <= 0 {
		cfg.Hang = time.Second
	}
	cfg.Hang = min(cfg.Hang, maxHang)
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = 1
	}
	if cfg.Trickle <= 0 {
		cfg.Trickle = 2 * time.Millisecond
	}
	cfg.Trickle = min(cfg.Trickle, 100*time.Millisecond)
	if cfg.Stale <= 0 {
		cfg.Stale = 2 * time.Second
	}
	cfg.Stale = min(cfg.Stale, time.Minute)
	return &picker{
		rng:      rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		cfg:      cfg,
		scripted: make(map[Op][]Kind),
		fired:    make(map[Kind]int),
	}
}

// script queues k for the next request of op.
func (p *picker) script(op Op, k Kind) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.scripted[op] = append(p.scripted[op], k)
}

// listFault is a fault for the next requests of op on keys under a prefix (for a
// listing: the prefix listed).
type listFault struct {
	op    Op
	under string
	k     Kind
	left  int
}

// scriptList queues k for the next n requests of op under prefix under.
func (p *picker) scriptList(op Op, under string, k Kind, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lists = append(p.lists, listFault{op: op, under: under, k: k, left: n})
}

// listed returns the fault scripted for a request of op on key (or prefix), if any.
func (p *picker) listed(op Op, key string) (Kind, bool) {
	for i := range p.lists {
		if f := &p.lists[i]; f.op == op && f.left > 0 && strings.HasPrefix(key, f.under) {
			f.left--
			return p.fire(f.k), true
		}
	}
	return 0, false
}

// pick counts a request of op and returns its fault; ok is false for none. The caller
// reports through unfire when a drawn fault could not act after all.
func (p *picker) pick(op Op, r *http.Request) (k Kind, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.count(op)
	key := r.URL.Query().Get("prefix")
	if op != OpList {
		_, key, _ = strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	}
	if k, ok := p.listed(op, key); ok {
		return k, true
	}
	if q := p.scripted[op]; len(q) > 0 {
		p.scripted[op] = q[1:]
		return p.fire(q[0]), true
	}
	if !p.hits(op) || p.random >= p.cfg.MaxFaults || p.rng.Float64() >= p.cfg.Rate {
		return 0, false
	}
	ranged := r.Header.Get("Range") != ""
	var usable []Kind
	for _, k := range p.cfg.Kinds {
		if k.applies(op) && (k != PrefixPut || p.cfg.AccessKey != "") && (k != ShortRange || ranged) {
			usable = append(usable, k)
		}
	}
	if len(usable) == 0 {
		return 0, false
	}
	p.random++
	return p.fire(usable[p.rng.IntN(len(usable))]), true
}

// hits reports whether random faults may hit a request of op (Config.Ops).
func (p *picker) hits(op Op) bool {
	return len(p.cfg.Ops) == 0 || slices.Contains(p.cfg.Ops, op)
}

func (p *picker) fire(k Kind) Kind {
	p.counts.Faults++
	p.fired[k]++
	return k
}

// unfire takes back a fault that found nothing to act on (an empty body to cut).
func (p *picker) unfire(k Kind) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts.Faults--
	p.fired[k]--
}

func (p *picker) count(op Op) {
	c := &p.counts
	switch op {
	case OpPut:
		c.Put++
	case OpGet:
		c.Get++
	case OpHead:
		c.Head++
	case OpList:
		c.List++
	case OpDelete:
		c.Delete++
	default:
		c.Other++
	}
}

// intn draws from the proxy's seeded generator.
func (p *picker) intn(n int64) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rng.Int64N(n)
}

// classify names the S3 call of a path-style request: /bucket or /bucket/key.
func classify(r *http.Request) Op {
	path := strings.TrimPrefix(r.URL.Path, "/")
	_, key, _ := strings.Cut(path, "/")
	q := r.URL.Query()
	if key == "" || len(q) > 0 && !q.Has("versionId") {
		if r.Method == http.MethodGet && (q.Has("list-type") || q.Has("prefix") || len(q) == 0) {
			return OpList
		}
		return OpOther
	}
	switch r.Method {
	case http.MethodPut:
		return OpPut
	case http.MethodGet:
		return OpGet
	case http.MethodHead:
		return OpHead
	case http.MethodDelete:
		return OpDelete
	}
	return OpOther
}
