package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// allCommands is every command under c, c included.
func allCommands(c *cobra.Command) []*cobra.Command {
	out := []*cobra.Command{c}
	for _, sub := range c.Commands() {
		out = append(out, allCommands(sub)...)
	}
	return out
}

func TestEveryCommandHelpHasExamples(t *testing.T) {
	for _, c := range allCommands(newRootCmd()) {
		path := strings.Fields(c.CommandPath())[1:]
		root := newRootCmd()
		var out bytes.Buffer
		root.SetOut(&out)
		root.SetArgs(append(path, "--help"))
		if err := root.Execute(); err != nil {
			t.Errorf("%s --help: %v", c.CommandPath(), err)
			continue
		}
		i := strings.Index(out.String(), "Examples:\n")
		if i < 0 || !strings.Contains(out.String()[i:], "  cairn ") {
			t.Errorf("%s --help has no Examples section with a cairn command:\n%s", c.CommandPath(), out.String())
		}
	}
}

func TestGenManWritesAPagePerCommand(t *testing.T) {
	c := newCLI(t)
	dir := filepath.Join(t.TempDir(), "man")
	c.OK("gen", "man", dir)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	for _, cmd := range allCommands(newRootCmd()) {
		if !cmd.IsAvailableCommand() && cmd.HasParent() {
			continue // help and hidden commands get no page
		}
		want := strings.ReplaceAll(cmd.CommandPath(), " ", "-") + ".1"
		if !slices.Contains(got, want) {
			t.Errorf("no man page %s among %v", want, got)
			continue
		}
		page, _ := os.ReadFile(filepath.Join(dir, want))
		if !bytes.Contains(page, []byte(".TH \"CAIRN\"")) || !bytes.Contains(page, []byte("EXAMPLE")) {
			t.Errorf("%s is not a man page with examples:\n%.300s", want, page)
		}
	}
}

// complete runs the shell completion request a shell sends, and returns the offered
// words without their descriptions.
func complete(c *cli, args ...string) ([]string, string) {
	c.T.Helper()
	r := c.Run(append([]string{"__complete"}, args...)...)
	if r.Code != 0 {
		c.T.Fatalf("__complete %v: exit %d\n%s", args, r.Code, r.Stderr)
	}
	var words []string
	for _, line := range strings.Split(strings.TrimSpace(r.Stdout), "\n") {
		if line != "" && !strings.HasPrefix(line, ":") {
			words = append(words, strings.SplitN(line, "\t", 2)[0])
		}
	}
	// cobra always tells the shell's debug log its directive; anything else is ours.
	var other []string
	for _, line := range strings.Split(strings.TrimSpace(r.Stderr), "\n") {
		if line != "" && !strings.HasPrefix(line, "Completion ended with directive:") {
			other = append(other, line)
		}
	}
	return words, strings.Join(other, "\n")
}

func TestCompletionOffersSnapshotsAndEnums(t *testing.T) {
	c := newCLI(t)
	c.OK("init")
	src := filepath.Join(t.TempDir(), "src")
	writeFiles(t, src, map[string]string{"a": "alpha"})
	var ids []string
	for i := 0; i < 2; i++ {
		out := c.OK("backup", src)
		ids = append(ids, strings.Fields(out[strings.LastIndex(out, "snapshot "):])[1])
	}
	for _, args := range [][]string{{"ls", ""}, {"diff", ids[0], ""}, {"tag", ""}, {"restore", "--target", "x", ""}} {
		words, _ := complete(c, args...)
		if !slices.Contains(words, "latest") || !slices.Contains(words, ids[0]) || !slices.Contains(words, ids[1]) {
			t.Errorf("complete %v: %v, want latest and %v", args, words, ids)
		}
	}
	if words, _ := complete(c, "diff", ids[0], ids[1], ""); slices.Contains(words, "latest") {
		t.Errorf("diff takes two snapshots; a third was offered: %v", words)
	}
	for flag, want := range map[string][]string{
		"--overwrite": {"if-changed", "always", "never"}, "--compression": {"off", "fastest", "default", "max"},
		"--sparse": {"auto", "always", "never"},
	} {
		if words, _ := complete(c, "restore", "latest", flag, ""); !slices.Equal(words, want) {
			t.Errorf("complete %s: %v, want %v", flag, words, want)
		}
	}
	if words, _ := complete(c, "backup", "--compression", ""); !slices.Contains(words, "max") {
		t.Errorf("complete backup --compression: %v", words)
	}
	// No password at hand: nothing offered, nothing printed, no prompt.
	c.Env = withoutEnv(c.Env, "CAIRN_PASSWORD")
	if words, stderr := complete(c, "ls", ""); len(words) != 0 || stderr != "" {
		t.Errorf("without a password: offered %v, printed %q", words, stderr)
	}
	c.Env = append(c.Env, "CAIRN_PASSWORD=wrong")
	if words, stderr := complete(c, "ls", ""); len(words) != 0 || stderr != "" {
		t.Errorf("with a wrong password: offered %v, printed %q", words, stderr)
	}
}
