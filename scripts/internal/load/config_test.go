package load

import "testing"

// No more customers are signed in than there are orders, whether the count is the default's or
// asked for: one without an order is signed in for nothing.
func TestDefaultsSignInNoMoreCustomersThanOrders(t *testing.T) {
	for _, tc := range []struct{ orders, concurrency, customers, want int }{
		{5, 10, 0, 5},    // the default, min(C, 20), is 10
		{5, 10, 50, 5},   // asked for 50
		{100, 10, 0, 10}, // the default
		{100, 50, 0, 20}, // the default's cap
		{100, 10, 30, 30},
	} {
		got := Config{Orders: tc.orders, Concurrency: tc.concurrency, Customers: tc.customers}.Defaults().Customers
		if got != tc.want {
			t.Errorf("-n %d -c %d -customers %d: %d customers, want %d", tc.orders, tc.concurrency, tc.customers, got, tc.want)
		}
	}
}
