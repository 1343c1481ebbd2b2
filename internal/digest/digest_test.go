package digest

import (
	"errors"
	"testing"
)

func TestParseRoundTrip(t *testing.T) {
	id := Of([]byte("cairn"))
	got, err := Parse(id.String())
	if err != nil || got != id {
		t.Fatalf("Parse(%s) = %v, %v", id, got, err)
	}
	if id.Short() != id.String()[:8] {
		t.Fatalf("Short = %s", id.Short())
	}
}

func TestParseRejects(t *testing.T) {
	good := Of(nil).String()
	for _, s := range []string{"", "abc", good[:63], good + "0", "zz" + good[2:], "AB" + good[2:]} {
		if _, err := Parse(s); !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) err = %v, want ErrInvalid", s, err)
		}
	}
}
