package s3_test

import (
	"testing"
	"time"

	"github.com/cairn-backup/cairn/remote/remotetest"
	"github.com/cairn-backup/cairn/remote/retry"
	"github.com/cairn-backup/cairn/remote/s3"
	"github.com/cairn-backup/cairn/remote/s3/s3test"
)

func TestConfirmerSuite(t *testing.T) {
	srv := s3test.Need(t)
	for _, c := range []struct {
		name  string
		page  int // keys per listing of Confirm; 0 keeps S3's maximum
		retry bool
	}{{"OnePage", 0, false}, {"SmallPages", 3, false}, {"WithRetry", 0, true}} {
		t.Run(c.name, func(t *testing.T) {
			remotetest.RunConfirmer(t, func(t *testing.T) remotetest.ConfirmStore {
				st, err := s3.Create(t.Context(), location(srv), options(srv))
				if err != nil {
					t.Fatalf("create: %v", err)
				}
				if c.page > 0 {
					st.SetListPage(c.page)
				}
				if c.retry {
					return retry.New(st, retry.Options{Budget: time.Minute})
				}
				return st
			})
		})
	}
}
