// Package cli is the frame the scripts' commands share: a flag set that reports to the command's
// stderr with its usage line, and the exit codes every command documents.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Exit codes: done, failed (or found a violation), called wrongly, stopped by its caller.
const (
	OK     = 0
	Failed = 1
	Usage  = 2
	// Interrupted is for a command stopped by Ctrl-C (SIGINT) that ends on its own to report what
	// it saw: 130, the code a shell gives a command SIGINT ended (128 + 2), so that scripts and make
	// tell an interrupt from a failure.
	Interrupted = 130
)

// Fail reports err, which ended command name, on stderr and returns the exit code: Interrupted
// when ctx is done (Ctrl-C cut the command short, and err is what it cut), Failed otherwise.
func Fail(ctx context.Context, stderr io.Writer, name string, err error) int {
	if ctx.Err() != nil {
		fmt.Fprintf(stderr, "%s: interrupted: %v\n", name, err)
		return Interrupted
	}
	fmt.Fprintf(stderr, "%s: %v\n", name, err)
	return Failed
}

// Flags is command name's flag set. Parse errors, -h and fs.Usage() write to stderr: "usage: "
// and usage, then the flags' defaults.
func Flags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: "+usage)
		fs.PrintDefaults()
	}
	return fs
}

// Parse parses args with fs. When done, the command returns code at once: OK after -h (the usage
// has been printed), Usage after a bad flag (the flag set has said which).
func Parse(fs *flag.FlagSet, args []string) (code int, done bool) {
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		return OK, true
	case err != nil:
		return Usage, true
	}
	return OK, false
}

// ParseFlags is Parse for a command that takes flags only: an argument besides is bad usage too,
// which it says on the flag set's output ("name: unexpected arguments …", as NoArgs words it).
func ParseFlags(fs *flag.FlagSet, args []string) (code int, done bool) {
	if code, done := Parse(fs, args); done {
		return code, true
	}
	if err := NoArgs(fs); err != nil {
		fmt.Fprintf(fs.Output(), "%s: %v\n", fs.Name(), err)
		return Usage, true
	}
	return OK, false
}

// NoArgs is the error for a command that takes flags only and was given arguments besides: nil
// when there are none. The command reports it as bad usage (exit Usage).
func NoArgs(fs *flag.FlagSet) error {
	if fs.NArg() == 0 {
		return nil
	}
	return fmt.Errorf("unexpected arguments %q: only flags are taken", fs.Args())
}

// Root finds the repository root from dir: the nearest directory upwards with a go.mod and a
// functions folder. The commands that read the repository (chaos, fuzz, bench) find it so from
// whatever folder inside it they are run.
func Root(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			if fi, err := os.Stat(filepath.Join(d, "functions")); err == nil && fi.IsDir() {
				return d, nil
			}
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no repository root (go.mod and functions/) above %s", dir)
		}
	}
}
