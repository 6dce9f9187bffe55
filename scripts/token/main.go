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
	"os"
	"strings"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/customers"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
)

func main() {
	user := flag.String("user", "demo", "the customer's username")
	password := flag.String("password", "", "sign in with this password instead of setting a new one (visible to ps: prefer -password-stdin)")
	passwordStdin := flag.Bool("password-stdin", false, "sign in with the password on the first line of standard input")
	idToken := flag.Bool("id", false, "print the ID token instead of the access token (the API accepts both)")
	flag.Parse()
	if *passwordStdin {
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		if *password = strings.TrimRight(line, "\r\n"); *password == "" {
			fmt.Fprintln(os.Stderr, "token: -password-stdin: no password on the first line of standard input")
			os.Exit(2)
		}
	}
	if err := run(*user, *password, *idToken); err != nil {
		fmt.Fprintln(os.Stderr, "token:", err)
		os.Exit(1)
	}
}

func run(user, password string, idToken bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stack, err := deployed.Load(ctx)
	if err != nil {
		return err
	}
	pool := customers.New(stack)
	var c customers.Customer
	if password == "" {
		c, err = pool.Provision(ctx, user)
	} else {
		c, err = pool.SignIn(ctx, user, password)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "token: signed in %s (customer %s), valid for %ds\n", c.Username, c.Sub, c.ExpiresIn)
	if idToken {
		fmt.Println(c.IDToken)
	} else {
		fmt.Println(c.AccessToken)
	}
	return nil
}
