package asyncapi

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/orderflow-dev/orderflow/events"
)

const root = "../../.."

func document(t *testing.T) (raw []byte, doc map[string]any) {
	t.Helper()
	raw, err := Document(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return raw, doc
}

// TestCommittedDocumentIsCurrent: docs/asyncapi.json is what the generator writes today.
func TestCommittedDocumentIsCurrent(t *testing.T) {
	raw, _ := document(t)
	committed, err := os.ReadFile(filepath.Join(root, Path))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, committed) {
		t.Fatalf("%s is stale: run `go run ./scripts/asyncapi` and commit it", Path)
	}
}

// channelTypes lists the types (with versions) a channel carries.
func channelTypes(t *testing.T, doc map[string]any, name string) []string {
	t.Helper()
	ch, ok := doc["channels"].(map[string]any)[name].(map[string]any)
	if !ok {
		t.Fatalf("no channel %s", name)
	}
	var out []string
	for k := range ch["messages"].(map[string]any) {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func keys(ts []events.Type, all bool) []string {
	var out []string
	for _, typ := range ts {
		info, _ := events.Lookup(typ)
		from := info.Latest()
		if all {
			from = 1
		}
		for v := from; v <= info.Latest(); v++ {
			out = append(out, messageKey(typ, v))
		}
	}
	sort.Strings(out)
	return out
}

// TestChannelsFollowTheRegistry: the bus and the stream carry every version of every type, the
// topic and the e-mail queue the customer-facing types, the SMS queue the SMS types.
func TestChannelsFollowTheRegistry(t *testing.T) {
	_, doc := document(t)
	for ch, want := range map[string][]string{
		"ordersBus":          keys(events.Types(), true),
		"orderEventsStream":  keys(events.Types(), true),
		"notificationsTopic": keys(events.CustomerFacing(), true),
		"emailQueue":         keys(events.CustomerFacing(), true),
		"smsQueue":           keys(events.SMSTypes(), true),
		"paymentsQueue":      {"PaymentTask"},
	} {
		if got := channelTypes(t, doc, ch); !slices.Equal(got, want) {
			t.Errorf("channel %s carries %v, want %v", ch, got, want)
		}
	}
}

// TestEveryReferenceResolves: every $ref of the document names something in it (the parser
// checks this too; here it fails without node).
func TestEveryReferenceResolves(t *testing.T) {
	_, doc := document(t)
	var walk func(v any)
	n := 0
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if r, ok := x["$ref"].(string); ok {
				n++
				var node any = doc
				for _, tok := range strings.Split(strings.TrimPrefix(r, "#/"), "/") {
					m, _ := node.(map[string]any)
					if node = m[tok]; node == nil {
						t.Errorf("$ref %s: nothing at %s", r, tok)
						return
					}
				}
			}
			for _, c := range x {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	walk(doc)
	if n < 50 {
		t.Fatalf("only %d references: the schemas were not split into components", n)
	}
}
