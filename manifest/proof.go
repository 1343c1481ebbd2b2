package manifest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cairn-backup/cairn/internal/digest"
)

// A proof shows that one entry (usually a file) is in a snapshot whose root is known,
// with SHA-256 alone: no repository, no key. docs/proof.md specifies the JSON form.

// ProofFormat names the one proof format this package writes and reads.
const ProofFormat = "cairn-proof-v1"

// Bounds of a proof: readers refuse anything beyond them before trusting it.
const (
	MaxProofSize  = 8 << 20 // bytes of an encoded proof
	maxAuditPath  = 64      // sibling hashes per step: enough for 2^64 entries
	maxProofCount = 1 << 40 // entries of one directory
)

// ErrProof reports a proof that is malformed or does not verify.
var ErrProof = errors.New("proof does not verify")

// Proof is the inclusion proof of one entry in a snapshot.
type Proof struct {
	Format    string      `json:"format"`
	Snapshot  digest.ID   `json:"snapshot"`             // for the reader; not proven
	Time      time.Time   `json:"time"`                 // for the reader; not proven
	Host      string      `json:"host"`                 // for the reader; not proven
	Path      string      `json:"path"`                 // "/" + the entry names on the way down
	PathBytes []byte      `json:"path_bytes,omitempty"` // Path exactly, when it is not UTF-8 (proofpath.go)
	Root      digest.ID   `json:"root"`                 // the snapshot's root the steps lead to
	File      *ProofFile  `json:"file,omitempty"`
	Steps     []ProofStep `json:"steps"` // from the entry itself up to the top directory
}

// ProofFile holds what checks a local copy of a proven file: its content root and its
// chunks, whose sizes say where to cut the file.
type ProofFile struct {
	Content digest.ID    `json:"content"`
	Size    uint64       `json:"size"`
	Chunks  []ProofChunk `json:"chunks"`
}

// ProofChunk is one chunk of a proven file: its id and its length in bytes.
type ProofChunk struct {
	ID   digest.ID `json:"id"`
	Size uint32    `json:"size"`
}

// ProofStep proves that Entry is leaf Index of Count in one directory's Merkle tree:
// the step's root follows from the entry's leaf hash and the audit path. The root of
// step i is the Content of step i+1's entry; that of the last step is the Root.
type ProofStep struct {
	Entry     HexBytes    `json:"entry"` // the hashed encoding
	Index     uint64      `json:"index"`
	Count     uint64      `json:"count"`
	AuditPath []digest.ID `json:"audit_path"`
}

// HexBytes is bytes written as lower-case hex in JSON. Only lower-case is read, so
// every proof has one encoding and any altered digit changes the bytes.
type HexBytes []byte

// MarshalText encodes as lower-case hex.
func (h HexBytes) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h)), nil }

// UnmarshalText decodes lower-case hex of at most MaxEntrySize bytes.
func (h *HexBytes) UnmarshalText(b []byte) error {
	if len(b) > 2*MaxEntrySize {
		return fmt.Errorf("hex field of %d digits, above %d", len(b), 2*MaxEntrySize)
	}
	out := make([]byte, hex.DecodedLen(len(b)))
	if _, err := hex.Decode(out, b); err != nil {
		return err
	}
	if !bytes.Equal([]byte(hex.EncodeToString(out)), b) {
		return errors.New("hex field is not lower-case")
	}
	*h = out
	return nil
}

// BuildProof proves the entry at path (names joined by "/", relative to the directory
// whose node is tree and whose Merkle root is root) by reading the directories on the
// way down. For a file it adds the chunk list. It fails if the proof would exceed
// MaxProofSize (a file of about 90,000 chunks or more).
func BuildProof(ctx context.Context, l BlobLoader, tree, root digest.ID, path string) (*Proof, error) {
	names := strings.Split(strings.Trim(path, "/"), "/")
	if names[0] == "" {
		return nil, fmt.Errorf("build proof: the path names the top directory, which has no entry: %w", ErrInvalid)
	}
	p := &Proof{Format: ProofFormat, Root: root}
	p.setPath("/" + strings.Join(names, "/"))
	t, r := tree, root
	for i, name := range names {
		at := strings.Join(names[:i+1], "/")
		n, err := ReadDir(ctx, l, t, r)
		if err != nil {
			return nil, fmt.Errorf("build proof of %s: %w", p.Path, err)
		}
		e, step, err := proveIn(n, name, at)
		if err != nil {
			return nil, err
		}
		p.Steps = append(p.Steps, step)
		switch {
		case i < len(names)-1 && e.Type != Dir:
			return nil, fmt.Errorf("build proof: %q is a %s, not a directory", at, e.Type)
		case i < len(names)-1:
			t, r = e.Subtree, e.Content
		case e.Type == File:
			if p.File, err = fileSection(ctx, l, e); err != nil {
				return nil, fmt.Errorf("build proof of %s: %w", p.Path, err)
			}
		}
	}
	slices.Reverse(p.Steps) // from the entry up
	if b, err := p.Encode(); err != nil {
		return nil, err
	} else if len(b) > MaxProofSize {
		return nil, fmt.Errorf("build proof of %s: %d bytes, above %d (too many chunks): %w", p.Path, len(b), MaxProofSize, ErrInvalid)
	}
	return p, nil
}

// proveIn returns the entry name of directory n and the step proving it is there.
func proveIn(n *Node, name, at string) (*Entry, ProofStep, error) {
	k := sort.Search(len(n.Entries), func(k int) bool { return n.Entries[k].Name >= name })
	if k == len(n.Entries) || n.Entries[k].Name != name {
		return nil, ProofStep{}, fmt.Errorf("build proof: %q: no such entry in the snapshot", at)
	}
	leaves := make([][]byte, len(n.Entries))
	for j := range n.Entries {
		leaves[j] = n.Entries[j].HashedEncoding()
	}
	audit := append([]digest.ID{}, MerklePath(leaves, k)...) // [], not null, for one entry
	return &n.Entries[k], ProofStep{Entry: leaves[k], Index: uint64(k), Count: uint64(len(leaves)), AuditPath: audit}, nil
}

func fileSection(ctx context.Context, l BlobLoader, e *Entry) (*ProofFile, error) {
	chunks, err := ReadChunks(ctx, l, e)
	if err != nil {
		return nil, err
	}
	f := &ProofFile{Content: e.Content, Size: e.Size, Chunks: make([]ProofChunk, len(chunks))}
	for j, c := range chunks {
		f.Chunks[j] = ProofChunk(c)
	}
	return f, nil
}

// Encode returns the proof as indented JSON.
func (p *Proof) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode proof: %w", err)
	}
	return append(b, '\n'), nil
}

// DecodeProof parses a proof and checks its shape (bounds, counts, indexes); Verify
// checks what it proves. Errors wrap ErrProof.
func DecodeProof(b []byte) (*Proof, error) {
	if len(b) > MaxProofSize {
		return nil, fmt.Errorf("decode proof: %d bytes, above %d: %w", len(b), MaxProofSize, ErrProof)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	p := &Proof{}
	if err := d.Decode(p); err != nil {
		return nil, fmt.Errorf("decode proof: %v: %w", err, ErrProof)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("decode proof: data after the proof: %w", ErrProof)
	}
	if err := p.shape(); err != nil {
		return nil, fmt.Errorf("decode proof: %s: %w", err, ErrProof)
	}
	return p, nil
}

// shape returns what makes the proof malformed, before any hashing.
func (p *Proof) shape() error {
	switch {
	case p.Format != ProofFormat:
		return fmt.Errorf("format %q, want %q", p.Format, ProofFormat)
	case len(p.Steps) == 0 || len(p.Steps) > MaxDepth+1:
		return fmt.Errorf("%d steps, want 1 to %d", len(p.Steps), MaxDepth+1)
	}
	for i, s := range p.Steps {
		switch {
		case len(s.Entry) == 0:
			return fmt.Errorf("step %d: no entry", i)
		case s.Count == 0 || s.Count > maxProofCount || s.Index >= s.Count:
			return fmt.Errorf("step %d: index %d of %d entries", i, s.Index, s.Count)
		case len(s.AuditPath) > maxAuditPath:
			return fmt.Errorf("step %d: audit path of %d hashes", i, len(s.AuditPath))
		}
	}
	if p.File == nil {
		return nil
	}
	var sum uint64
	for i, c := range p.File.Chunks {
		if c.Size == 0 {
			return fmt.Errorf("chunk %d is empty", i)
		}
		sum += uint64(c.Size)
	}
	if sum != p.File.Size {
		return fmt.Errorf("chunks hold %d bytes, file size is %d", sum, p.File.Size)
	}
	return nil
}

// Verify checks the proof: every step's entry hashes, through its audit path, to the
// Merkle root its parent entry names, up to Root; the entry names spell Path; for a
// file, the chunks' content root and size are the entry's. With root given, Root must
// be it; without, only the proof's consistency is checked, which proves nothing about
// a snapshot until Root is compared with a trusted one. With file given, its bytes,
// cut at the chunk sizes, must hash to the chunk ids, and end there. Errors wrap
// ErrProof.
func (p *Proof) Verify(root *digest.ID, file io.Reader) error {
	if err := p.verify(root, file); err != nil {
		return fmt.Errorf("%w: %w", ErrProof, err)
	}
	return nil
}

func (p *Proof) verify(root *digest.ID, file io.Reader) error {
	if err := p.shape(); err != nil {
		return err
	}
	top, names, err := p.climb()
	if err != nil {
		return err
	}
	switch {
	case top != p.Root:
		return fmt.Errorf("the steps lead to root %s, the proof names %s", top, p.Root)
	case root != nil && *root != p.Root:
		return fmt.Errorf("the proof is for root %s, not %s", p.Root, *root)
	}
	if err := p.checkPath("/" + strings.Join(names, "/")); err != nil {
		return err
	}
	e, err := DecodeHashed(p.Steps[0].Entry)
	if err != nil {
		return err
	}
	return p.verifyFile(e, file)
}

// climb recomputes the root from the first step up and returns it with the names of
// the entries from the top down.
func (p *Proof) climb() (digest.ID, []string, error) {
	names := make([]string, len(p.Steps))
	var h digest.ID
	for i, s := range p.Steps {
		e, err := DecodeHashed(s.Entry)
		if err != nil {
			return h, nil, fmt.Errorf("step %d: %w", i, err)
		}
		if !ValidName(e.Name) {
			return h, nil, fmt.Errorf("step %d: entry name %q is not a path component", i, e.Name)
		}
		if i > 0 {
			if e.Type != Dir {
				return h, nil, fmt.Errorf("step %d: %q is a %s, not a directory", i, e.Name, e.Type)
			}
			if e.Content != h {
				return h, nil, fmt.Errorf("step %d: %q names root %s, the step below leads to %s", i, e.Name, e.Content, h)
			}
		}
		var ok bool
		if h, ok = RootFromPath(LeafHash(s.Entry), int(s.Index), int(s.Count), s.AuditPath); !ok {
			return h, nil, fmt.Errorf("step %d: audit path of %d hashes does not fit index %d of %d", i, len(s.AuditPath), s.Index, s.Count)
		}
		names[len(p.Steps)-1-i] = e.Name
	}
	return h, names, nil
}

// verifyFile checks the chunk list against the entry and, if given, the local file.
func (p *Proof) verifyFile(e *Entry, file io.Reader) error {
	switch {
	case e.Type == File && p.File == nil:
		return errors.New("a file entry without a file section")
	case e.Type != File && p.File != nil:
		return fmt.Errorf("a %s entry with a file section", e.Type)
	}
	if p.File == nil {
		if file != nil {
			return fmt.Errorf("a %s has no content to compare with a file", e.Type)
		}
		return nil
	}
	f := p.File
	switch {
	case f.Content != e.Content:
		return fmt.Errorf("file section names content %s, the entry %s", f.Content, e.Content)
	case f.Size != e.Size:
		return fmt.Errorf("file section names size %d, the entry %d", f.Size, e.Size)
	case proofContent(f.Chunks) != e.Content:
		return fmt.Errorf("the chunks' content root is %s, the entry names %s", proofContent(f.Chunks), e.Content)
	}
	if file == nil {
		return nil
	}
	return checkLocal(f.Chunks, file)
}

// checkLocal hashes the file chunk by chunk, streaming: a chunk size read from a proof
// never sizes an allocation.
func checkLocal(chunks []ProofChunk, file io.Reader) error {
	var off uint64
	h := sha256.New()
	for i, c := range chunks {
		h.Reset()
		n, err := io.CopyN(h, file, int64(c.Size))
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read local file: %w", err)
		}
		if n != int64(c.Size) {
			return fmt.Errorf("local file ends at byte %d, inside chunk %d", off+uint64(n), i)
		}
		var id digest.ID
		if h.Sum(id[:0]); id != c.ID {
			return fmt.Errorf("local file: chunk %d (bytes %d to %d) hashes to %s, the proof says %s", i, off, off+uint64(n), id, c.ID)
		}
		off += uint64(n)
	}
	var one [1]byte
	if n, _ := io.ReadFull(file, one[:]); n > 0 {
		return fmt.Errorf("local file is longer than the %d bytes proven", off)
	}
	return nil
}

func proofContent(chunks []ProofChunk) digest.ID {
	hs := make([]digest.ID, len(chunks))
	for i, c := range chunks {
		hs[i] = idLeafHash(c.ID)
	}
	return rootOf(hs)
}
