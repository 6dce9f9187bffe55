package order_test

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/orderflow-dev/orderflow/functions/internal/order"
	"github.com/orderflow-dev/orderflow/schemas"
)

// IsID accepts exactly what the event schemas' orderId pattern accepts, and every id NewID makes.
func TestIsIDIsTheSchemasPattern(t *testing.T) {
	b, err := schemas.FS.ReadFile("envelope.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Defs map[string]struct {
			Pattern string `json:"pattern"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	pattern := doc.Defs["orderId"].Pattern
	if pattern == "" {
		t.Fatal("envelope.schema.json has no $defs.orderId.pattern")
	}
	schema := regexp.MustCompile(pattern)
	good := order.NewID()
	inputs := []string{
		good, "ORD-00000000-0000-0000-0000-000000000000", "ORD-abcdef01-2345-6789-abcd-ef0123456789",
		"", "ORD-", "ord-" + good[4:], "ORD-" + strings.ToUpper(good[4:]), good + " ", " " + good, good[:len(good)-1],
		good + "0", "ORD-" + strings.ReplaceAll(good[4:], "-", "0"), "ORD-abcdef01-2345-6789-abcd-ef012345678g",
		"ORD-abcdef01x2345-6789-abcd-ef0123456789", "ORD-{abcdef01-2345-6789-abcd-ef012345678}", "PAY-" + good[4:],
		"ORD-abcdef01-2345-6789-abcd-ef01234567\u00e9",
	}
	for i := range 200 {
		inputs = append(inputs, order.NewID())
		id := []byte(order.NewID())
		id[4+i%36] ^= byte(1 << (i % 7)) // one bit off somewhere in the UUID
		inputs = append(inputs, string(id))
	}
	for _, s := range inputs {
		if got, want := order.IsID(s), schema.MatchString(s); got != want {
			t.Errorf("IsID(%q) = %v, the schema's pattern says %v", s, got, want)
		}
	}
	if !order.IsID(good) {
		t.Errorf("IsID(NewID()) = false for %q", good)
	}
}
