// Package catalogue is the scripts' one check of an SKU against the catalogue the functions sell
// from (functions/internal/catalogue, through toolkit): load and inject refuse an SKU it does not
// sell as bad usage, before the stack is reached, and say so in the same words.
package catalogue

import (
	"fmt"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
)

// Check says why sku cannot be ordered: the catalogue does not sell it. Nil if it does.
func Check(sku string) error {
	if _, ok := toolkit.LookupProduct(sku); !ok {
		return fmt.Errorf("SKU %s is not in the catalogue (functions/internal/catalogue lists its SKUs)", sku)
	}
	return nil
}
