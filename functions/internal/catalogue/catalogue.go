// Package catalogue is the demo product catalogue: the one place prices live. The API prices
// orders from it (clients never send prices) and the inventory table starts each product at
// its InitialStock.
package catalogue

// Currency of every price in the catalogue (ISO 4217).
const Currency = "USD"

// Product is a sellable item.
type Product struct {
	SKU          string
	Name         string
	PriceCents   int64
	InitialStock int
	// DangerousGoods marks an item a parcel carrier will not take (flammable, pressurised):
	// it can be ordered and paid for, but shipping refuses it, so the order is refunded and
	// cancelled. It is the demo's trigger for the saga's refund path.
	DangerousGoods bool
}

var products = []Product{
	{SKU: "SKU-001", Name: "Trail running shoes", PriceCents: 4999, InitialStock: 100},
	{SKU: "SKU-002", Name: "Merino socks", PriceCents: 1299, InitialStock: 100},
	{SKU: "SKU-003", Name: "Headlamp", PriceCents: 3499, InitialStock: 5},
	{SKU: "SKU-042", Name: "Water bottle", PriceCents: 1999, InitialStock: 100},
	{SKU: "SKU-100", Name: "Enamel mug", PriceCents: 1499, InitialStock: 10000},
	{SKU: "SKU-404", Name: "Limited edition jacket", PriceCents: 19999, InitialStock: 0},
	{SKU: "SKU-451", Name: "Camping gas canister", PriceCents: 899, InitialStock: 100, DangerousGoods: true},
}

// All returns every product, ordered by SKU (a copy: callers may modify it).
func All() []Product {
	return append([]Product(nil), products...)
}

// Lookup finds a product by SKU.
func Lookup(sku string) (Product, bool) {
	for _, p := range products {
		if p.SKU == sku {
			return p, true
		}
	}
	return Product{}, false
}
