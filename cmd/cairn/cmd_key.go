package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/cairn-backup/cairn/internal/repo"
	"github.com/spf13/cobra"
)

func newKeyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Manage the passwords (key files) of a repository",
	}
	var newPwFile string
	cmd.PersistentFlags().StringVar(&newPwFile, "new-password-file", "", "read the new password from this file (env CAIRN_NEW_PASSWORD)")
	cmd.AddCommand(
		&cobra.Command{
			Use: "list", Short: "List key files", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return keyList(cmd, g) },
		},
		&cobra.Command{
			Use: "add", Short: "Add a password", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return keyAdd(cmd, g, newPwFile, false) },
		},
		&cobra.Command{
			Use: "passwd", Short: "Change the password of the current key", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return keyAdd(cmd, g, newPwFile, true) },
		},
		&cobra.Command{
			Use: "remove ID", Short: "Remove a key file (not the one in use)", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error { return keyRemove(cmd, g, args[0]) },
		},
	)
	return cmd
}

type keyJSON struct {
	ID      string    `json:"id"`
	Current bool      `json:"current"`
	User    string    `json:"user,omitempty"`
	Host    string    `json:"host,omitempty"`
	Created time.Time `json:"created"`
	Error   string    `json:"error,omitempty"`
}

func keyList(cmd *cobra.Command, g *globals) error {
	r, err := g.open(cmd.Context())
	if err != nil {
		return err
	}
	defer r.Close()
	keys, err := r.Keys(cmd.Context())
	if err != nil {
		return err
	}
	out := make([]keyJSON, len(keys))
	for i, k := range keys {
		out[i] = keyJSON{ID: k.Name, Current: k.Current, User: k.User, Host: k.Host, Created: k.Created}
		if k.Err != nil {
			out[i].Error = k.Err.Error()
		}
	}
	return g.print(cmd, out, func() { printKeys(cmd, out) })
}

func printKeys(cmd *cobra.Command, keys []keyJSON) {
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, " ID\tUser\tHost\tCreated")
	for _, k := range keys {
		mark := " "
		if k.Current {
			mark = "*"
		}
		if k.Error != "" {
			fmt.Fprintf(tw, "%s%s\tdamaged: %s\t\t\n", mark, k.ID[:8], k.Error)
			continue
		}
		fmt.Fprintf(tw, "%s%s\t%s\t%s\t%s\n", mark, k.ID[:8], k.User, k.Host, k.Created.Local().Format("2006-01-02 15:04:05"))
	}
	tw.Flush()
}

func keyAdd(cmd *cobra.Command, g *globals, newPwFile string, replace bool) error {
	if err := newPasswordGiven(newPwFile); err != nil {
		return err
	}
	r, err := g.open(cmd.Context())
	if err != nil {
		return err
	}
	defer r.Close()
	pw, err := newPassword(newPwFile)
	if err != nil {
		return err
	}
	var name string
	if replace {
		name, err = r.ChangePassword(cmd.Context(), pw)
	} else {
		name, err = r.AddKey(cmd.Context(), pw)
	}
	if err != nil {
		return err
	}
	return g.print(cmd, map[string]string{"id": name}, func() {
		if replace {
			fmt.Fprintf(cmd.OutOrStdout(), "password changed: key %s replaces the old one\n", name[:8])
			printKeyKept(cmd.OutOrStdout(), r.KeptByLocks())
		} else {
			fmt.Fprintf(cmd.OutOrStdout(), "added key %s\n", name[:8])
		}
	})
}

func keyRemove(cmd *cobra.Command, g *globals, prefix string) error {
	r, err := g.open(cmd.Context())
	if err != nil {
		return err
	}
	defer r.Close()
	name, err := r.ResolveKey(cmd.Context(), prefix)
	if err != nil {
		return err
	}
	if err := r.RemoveKey(cmd.Context(), name); err != nil {
		return err
	}
	return g.print(cmd, map[string]string{"removed": name}, func() {
		if kept := r.KeptByLocks(); len(kept) > 0 {
			printKeyKept(cmd.OutOrStdout(), kept)
			return
		}
		fmt.Fprintf(cmd.OutOrStdout(), "removed key %s\n", name[:8])
	})
}

func newForgetPinCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "forget-pin",
		Short: "Trust the repository at --repo anew after it was replaced on purpose",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := g.store(cmd.Context(), false)
			if err != nil {
				return err
			}
			defer st.Close()
			return repo.ForgetPin(stateDir(), st.Location())
		},
	}
}
