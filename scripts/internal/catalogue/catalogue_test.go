package catalogue

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	if err := Check("SKU-001"); err != nil {
		t.Errorf("SKU-001: %v, want it sold", err)
	}
	for _, sku := range []string{"SKU-999", ""} {
		if err := Check(sku); err == nil || !strings.Contains(err.Error(), "is not in the catalogue") {
			t.Errorf("%q: %v, want it refused", sku, err)
		}
	}
}
