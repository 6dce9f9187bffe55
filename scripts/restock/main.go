// Command restock sets the units left of a SKU on a deployed stack, whatever they were: an
// operator's restock, or the starting point of a load run (`make restock SKU=SKU-100 STOCK=1000`).
// Reservations already taken stay taken; releasing one later adds its units back on top.
//
//	go run ./scripts/restock -sku SKU-100 -stock 1000
//
// It talks to whatever endpoint the AWS SDK is configured for (AWS_ENDPOINT_URL for an emulator).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/cli"
	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes: 0 restocked, 1 failed, 2 usage.
func run(args []string, stdout, stderr io.Writer) int {
	fs := cli.Flags("restock", "go run ./scripts/restock -sku SKU-100 -stock 1000", stderr)
	sku := fs.String("sku", "SKU-100", "the SKU to restock (one of the catalogue's)")
	units := fs.Int("stock", -1, "the units it has after (0 or more)")
	if code, done := cli.ParseFlags(fs, args); done {
		return code
	}
	product, ok := toolkit.LookupProduct(*sku)
	switch {
	case *units < 0:
		fmt.Fprintln(stderr, "restock: -stock N is required, N ≥ 0")
		return 2
	case !ok:
		fmt.Fprintf(stderr, "restock: %s is not in the catalogue\n", *sku)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stack, err := deployed.Load(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "restock:", err)
		return 1
	}
	inventory := toolkit.NewInventory(dynamodb.NewFromConfig(stack.AWS), stack.Output("InventoryTable"))
	before, err := inventory.Stock(ctx, []string{product.SKU})
	if err != nil {
		fmt.Fprintln(stderr, "restock:", err)
		return 1
	}
	was, ok := before[product.SKU]
	if !ok {
		was = product.InitialStock // no stock item yet: the catalogue's initial stock
	}
	if err := inventory.SetStock(ctx, product.SKU, *units); err != nil {
		fmt.Fprintln(stderr, "restock:", err)
		return 1
	}
	fmt.Fprintf(stdout, "%s (%s): stock %d → %d\n", product.SKU, product.Name, was, *units)
	return 0
}
