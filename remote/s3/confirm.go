package s3

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/minio/minio-go/v7"

	"github.com/cairn-backup/cairn/remote"
)

// listPage is how many keys one listing request asks for: S3's maximum.
const listPage = 1000

// pendingObj is one object Confirm still has to find.
type pendingObj struct {
	key  string
	sent remote.Sent
}

// Confirm checks that the objects are stored whole, with listings rather than a HEAD
// per object: S3 lists keys in order, so one request that starts just before the
// smallest key vouches for every wanted key among the next thousand. Each request
// settles at least one object; once a request settles only one (a big repository
// whose wanted keys lie far apart), HEADs settle the rest, which cost less than
// listings. A listing that ends early (a lying or faulty server) makes objects look
// missing, never present: the caller uploads them again.
func (s *Store) Confirm(ctx context.Context, objs []remote.Sent) ([]remote.Sent, error) {
	todo := make([]pendingObj, 0, len(objs))
	for _, o := range objs {
		if err := s.check(ctx, o.Handle); err != nil {
			return nil, fmt.Errorf("confirm %s: %w", o.Handle, err)
		}
		todo = append(todo, pendingObj{key: s.key(o.Handle), sent: o})
	}
	sort.Slice(todo, func(i, j int) bool { return todo[i].key < todo[j].key })
	var bad []remote.Sent
	cursor := ""
	for len(todo) > 0 {
		before := len(todo)
		var err error
		todo, cursor, err = s.confirmRun(ctx, todo, cursor, &bad)
		if err != nil {
			return nil, err
		}
		if before-len(todo) < 2 {
			break
		}
	}
	for _, p := range todo {
		ok, err := s.confirmOne(ctx, p)
		if err != nil {
			return nil, err
		}
		if !ok {
			bad = append(bad, p.sent)
		}
	}
	return bad, nil
}

// confirmRun lists one page from just before the first wanted key (or after cursor,
// the last key seen) and settles the wanted keys it passes. It returns the unsettled
// rest and the new cursor.
func (s *Store) confirmRun(ctx context.Context, todo []pendingObj, cursor string, bad *[]remote.Sent) ([]pendingObj, string, error) {
	start := todo[0].key[:len(todo[0].key)-1] // sorts just before the key itself
	start = max(start, cursor)
	page := s.listPage
	if len(todo) == 1 {
		page = 1 // the key itself, or the one after it when it is missing
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lctx, hn := withHint(lctx)
	noOwner := false
	seen, complete := 0, true
	for obj := range s.client.ListObjectsIter(lctx, s.ep.bucket, minio.ListObjectsOptions{
		Prefix: s.ep.prefix, Recursive: true, StartAfter: start, MaxKeys: page, FetchOwner: &noOwner,
	}) {
		if obj.Err != nil {
			return nil, "", fmt.Errorf("confirm uploads: list: %w", s.translate(lctx, obj.Err, hn))
		}
		seen++
		cursor = obj.Key
		for len(todo) > 0 && todo[0].key < obj.Key {
			*bad = append(*bad, todo[0].sent) // passed without being listed
			todo = todo[1:]
		}
		if len(todo) > 0 && todo[0].key == obj.Key {
			if !stored(todo[0].sent, obj.Size, obj.ETag) {
				*bad = append(*bad, todo[0].sent)
			}
			todo = todo[1:]
		}
		if len(todo) == 0 || seen == page {
			complete = false // stopped by us, not by the end of the listing
			break
		}
	}
	if complete {
		*bad = append(*bad, sentOf(todo)...) // the listing ended before them
		todo = nil
	}
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("confirm uploads: %w", err)
	}
	return todo, cursor, nil
}

// confirmOne checks one object with a HEAD.
func (s *Store) confirmOne(ctx context.Context, p pendingObj) (bool, error) {
	ctx, hn := withHint(ctx)
	st, err := s.client.StatObject(ctx, s.ep.bucket, p.key, minio.StatObjectOptions{})
	if err != nil {
		err = s.translate(ctx, err, hn)
		if errors.Is(err, remote.ErrNotFound) {
			return false, nil
		}
		return false, fmt.Errorf("confirm %s: %w", p.sent.Handle, err)
	}
	return stored(p.sent, st.Size, st.ETag), nil
}

// stored compares a listed or HEADed object with what was sent.
func stored(sent remote.Sent, size int64, etag string) bool {
	return size == sent.Size && (sent.MD5 == "" || !isMD5(etag) || etag == sent.MD5)
}

func sentOf(ps []pendingObj) []remote.Sent {
	out := make([]remote.Sent, len(ps))
	for i, p := range ps {
		out[i] = p.sent
	}
	return out
}
