package load

import (
	"fmt"

	"github.com/orderflow-dev/orderflow/scripts/internal/shop"
)

// chosenCheck holds each order to what its choice makes impossible, whatever faults did on the
// way: a declined token is never charged and never ships, and the carrier never ships the SKU it
// refuses. (What a choice makes likely, an approved order shipped, faults may change: a charge
// the saga timed out on is cancelled and refunded.)
func chosenCheck(orders []Order, outcomes map[string]string) Check {
	c := Check{Name: "outcome as chosen", Rule: "an order paid with " + shop.TokenDecline + " is never charged and never ships; " +
		shop.SKUDangerousGoods + " (the carrier refuses it) never ships"}
	for _, o := range orders {
		shipped := outcomes[o.ID] == "SHIPPED" || outcomes[o.ID] == "BOTH"
		if o.Token == shop.TokenDecline {
			if shipped {
				c.Violations = append(c.Violations, fmt.Sprintf("%s: paid with %s, and shipped", o.ID, o.Token))
			}
			if p := o.Payment; p != nil && (p.Status == "APPROVED" || p.Status == "REFUNDED") {
				c.Violations = append(c.Violations, fmt.Sprintf("%s: paid with %s, and charged (payment %s)", o.ID, o.Token, p.Status))
			}
		}
		if o.SKU == shop.SKUDangerousGoods && shipped {
			c.Violations = append(c.Violations, fmt.Sprintf("%s: %s shipped; the carrier refuses it", o.ID, o.SKU))
		}
	}
	return c
}
