package tag

import (
	"slices"
	"testing"
)

func TestApply(t *testing.T) {
	for _, c := range []struct {
		name string
		c    Change
		tags []string
		want []string
	}{
		{"add", Change{Add: []string{"b", "a"}}, []string{"a"}, []string{"a", "b"}},
		{"remove", Change{Remove: []string{"a", "z"}}, []string{"a", "b"}, []string{"b"}},
		{"remove all", Change{Remove: []string{"a"}}, []string{"a"}, nil},
		{"both", Change{Add: []string{"c"}, Remove: []string{"a"}}, []string{"a", "b"}, []string{"b", "c"}},
		{"set", Change{Set: []string{"x", "x"}, SetGiven: true}, []string{"a"}, []string{"x"}},
		{"set none", Change{SetGiven: true}, []string{"a"}, nil},
		{"duplicates kept out", Change{Add: []string{"a"}}, []string{"a", "a"}, []string{"a"}},
	} {
		if got := c.c.Apply(c.tags); !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []struct {
		c  Change
		ok bool
	}{
		{Change{}, false},
		{Change{Add: []string{"a"}}, true},
		{Change{Remove: []string{"a"}}, true},
		{Change{SetGiven: true}, true},
		{Change{Set: []string{"a"}, SetGiven: true, Add: []string{"b"}}, false},
	} {
		if err := c.c.Validate(); (err == nil) != c.ok {
			t.Errorf("%+v: %v", c.c, err)
		}
	}
}
