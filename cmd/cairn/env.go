package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"
)

// envName is the variable a global flag takes its default from: CAIRN_ and the flag's
// name in upper case, dashes as underscores (--password-file: CAIRN_PASSWORD_FILE).
func envName(flag string) string {
	return "CAIRN_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// envDefaults gives every flag of fs the default its variable holds, and names the
// variable in the flag's help, as restic does. A flag on the command line still wins.
// A value the flag refuses is an error naming the variable.
func envDefaults(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		name := envName(f.Name)
		if !strings.Contains(f.Usage, "(env ") {
			f.Usage += " (env " + name + ")"
		}
		v, ok := os.LookupEnv(name)
		if !ok || v == "" || err != nil {
			return
		}
		if serr := setDefault(f, v); serr != nil {
			err = fmt.Errorf("%s=%q: %w", name, v, serr)
		}
	})
	return err
}

// setDefault sets f from a variable without marking it changed; a list flag takes a
// comma-separated list.
func setDefault(f *pflag.Flag, v string) error {
	if sv, ok := f.Value.(pflag.SliceValue); ok {
		if err := sv.Replace(strings.Split(v, ",")); err != nil {
			return err
		}
	} else if err := f.Value.Set(v); err != nil {
		return err
	}
	f.DefValue = f.Value.String()
	return nil
}
