package catalogue_test

import (
	"testing"

	"github.com/orderflow-dev/orderflow/functions/internal/catalogue"
)

func TestLookup(t *testing.T) {
	cases := []struct {
		sku   string
		want  catalogue.Product
		found bool
	}{
		{"SKU-001", catalogue.Product{SKU: "SKU-001", Name: "Trail running shoes", PriceCents: 4999, InitialStock: 100}, true},
		{"SKU-002", catalogue.Product{SKU: "SKU-002", Name: "Merino socks", PriceCents: 1299, InitialStock: 100}, true},
		{"SKU-003", catalogue.Product{SKU: "SKU-003", Name: "Headlamp", PriceCents: 3499, InitialStock: 5}, true},
		{"SKU-042", catalogue.Product{SKU: "SKU-042", Name: "Water bottle", PriceCents: 1999, InitialStock: 100}, true},
		{"SKU-404", catalogue.Product{SKU: "SKU-404", Name: "Limited edition jacket", PriceCents: 19999, InitialStock: 0}, true},
		{"SKU-451", catalogue.Product{SKU: "SKU-451", Name: "Camping gas canister", PriceCents: 899, InitialStock: 100, DangerousGoods: true}, true},
		{"SKU-999", catalogue.Product{}, false},
		{"sku-001", catalogue.Product{}, false},
		{"", catalogue.Product{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.sku, func(t *testing.T) {
			got, ok := catalogue.Lookup(tc.sku)
			if ok != tc.found || got != tc.want {
				t.Errorf("Lookup(%q) = %+v, %v; want %+v, %v", tc.sku, got, ok, tc.want, tc.found)
			}
		})
	}
}

func TestAll(t *testing.T) {
	all := catalogue.All()
	if len(all) != 7 {
		t.Fatalf("All() has %d products, want 7", len(all))
	}
	dangerous := 0
	for _, p := range all {
		if p.DangerousGoods {
			dangerous++
		}
	}
	if dangerous != 1 {
		t.Errorf("%d dangerous goods, want 1 (SKU-451, the refund path's trigger)", dangerous)
	}
	for i, p := range all {
		if got, ok := catalogue.Lookup(p.SKU); !ok || got != p {
			t.Errorf("All()[%d] = %+v, Lookup gives %+v, %v", i, p, got, ok)
		}
		if i > 0 && all[i-1].SKU >= p.SKU {
			t.Errorf("All() is not sorted by SKU at %d", i)
		}
	}
	all[0].PriceCents = 1
	if p, _ := catalogue.Lookup(all[0].SKU); p.PriceCents == 1 {
		t.Error("All() exposes the catalogue: a caller changed a price")
	}
	if catalogue.Currency != "USD" {
		t.Errorf("Currency = %q", catalogue.Currency)
	}
}
