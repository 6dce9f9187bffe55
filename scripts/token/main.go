// Command token signs a customer in to the deployed stack's user pool and prints an access
// token for curl:
//
//	TOKEN=$(go run ./scripts/token)                        # the demo customer, created if need be
//	TOKEN=$(go run ./scripts/token -user alice)            # another customer
//	TOKEN=$(go run ./scripts/token -user alice -password-stdin < pw) # sign in only (no admin rights needed)
//	curl -H "Authorization: Bearer $TOKEN" "$API_URL/orders"
//
// -password-stdin reads the password from the first line of standard input (-password P works
// too, but puts it where ps and the shell's history show it). Without either, it (re)sets the customer's password to a random one, which needs Cognito
// admin rights (the account owner's, or any on the local emulator). The token goes to
// stdout, the rest to stderr.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/cli"
	"github.com/orderflow-dev/orderflow/scripts/internal/customers"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
)

// options is one call: who signs in, with which password ("": a new random one), which token.
type options struct {
	user, password string
	idToken        bool
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	cancel()
	os.Exit(code)
}

// Exit codes: 0 signed in (the token printed), 1 failed, 2 usage.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	opt, code, done := parse(args, stdin, stderr)
	if done {
		return code
	}
	if err := signIn(ctx, opt, stdout, stderr); err != nil {
		fmt.Fprintln(stderr, "token:", err)
		return cli.Failed
	}
	return cli.OK
}

// parse reads the flags (and, with -password-stdin, the password) and refuses what it would
// otherwise ignore: an argument, two passwords.
func parse(args []string, stdin io.Reader, stderr io.Writer) (options, int, bool) {
	var opt options
	fs := cli.Flags("token", "go run ./scripts/token [-user NAME] [-password-stdin < file] [-id]", stderr)
	fs.StringVar(&opt.user, "user", "demo", "the customer's username")
	fs.StringVar(&opt.password, "password", "", "sign in with this password instead of setting a new one (visible to ps: prefer -password-stdin)")
	passwordStdin := fs.Bool("password-stdin", false, "sign in with the password on the first line of standard input")
	fs.BoolVar(&opt.idToken, "id", false, "print the ID token instead of the access token (the API accepts both)")
	if code, done := cli.Parse(fs, args); done {
		return opt, code, true
	}
	usage := func(msg string) (options, int, bool) {
		fmt.Fprintln(stderr, "token:", msg)
		return opt, cli.Usage, true
	}
	passwordSet := false // -password "" (an unset $PW, say) must not mean "set a new one", which resets the customer's
	fs.Visit(func(f *flag.Flag) { passwordSet = passwordSet || f.Name == "password" })
	if err := cli.NoArgs(fs); err != nil {
		return usage(fmt.Sprintf("%v (the customer is -user NAME)", err))
	}
	switch {
	case opt.user == "":
		return usage("-user must not be empty")
	case passwordSet && opt.password == "":
		return usage("-password is empty: give the password (or leave -password out to set a new random one)")
	case *passwordStdin && passwordSet:
		return usage("give -password or -password-stdin, not both")
	case *passwordStdin:
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		if opt.password = strings.TrimRight(line, "\r\n"); opt.password == "" {
			return usage("-password-stdin: no password on the first line of standard input")
		}
	}
	return opt, cli.OK, false
}

func signIn(ctx context.Context, opt options, stdout, stderr io.Writer) error {
	stack, err := deployed.Load(ctx)
	if err != nil {
		return err
	}
	pool := customers.New(stack)
	var c customers.Customer
	if opt.password == "" {
		c, err = pool.Provision(ctx, opt.user)
	} else {
		c, err = pool.SignIn(ctx, opt.user, opt.password)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "token: signed in %s (customer %s), valid for %ds\n", c.Username, c.Sub, c.ExpiresIn)
	if opt.idToken {
		fmt.Fprintln(stdout, c.IDToken)
	} else {
		fmt.Fprintln(stdout, c.AccessToken)
	}
	return nil
}
