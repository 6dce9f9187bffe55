package events

// Payloads: one struct per event type and version. Money is integer cents.

// ItemV1 is an order line of OrderPlaced v1.
type ItemV1 struct {
	SKU            string `json:"sku"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

// OrderPlacedV1 is the payload of OrderPlaced version 1 (still accepted, upcast to v2).
type OrderPlacedV1 struct {
	OrderID      string   `json:"orderId"`
	CustomerID   string   `json:"customerId"`
	Items        []ItemV1 `json:"items"`
	TotalCents   int64    `json:"totalCents"`
	PaymentToken string   `json:"paymentToken"`
}

// Item is an order line of OrderPlaced v2: v1's line plus an optional product name.
type Item struct {
	SKU            string `json:"sku"`
	Name           string `json:"name,omitempty"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

// LinesTotal is what an order of items costs: each line's unit price times its quantity, added
// up. order-api totals an order with it, and the saga checks an order's total against it.
func LinesTotal(items []Item) int64 {
	var total int64
	for _, it := range items {
		total += it.UnitPriceCents * int64(it.Quantity)
	}
	return total
}

// OrderPlacedV2 is the payload of OrderPlaced version 2 (still accepted, upcast to v3):
// v1 plus an optional ISO 4217 currency and item names.
type OrderPlacedV2 struct {
	OrderID      string `json:"orderId"`
	CustomerID   string `json:"customerId"`
	Items        []Item `json:"items"`
	TotalCents   int64  `json:"totalCents"`
	Currency     string `json:"currency,omitempty"`
	PaymentToken string `json:"paymentToken"`
}

// OrderPlacedV3 is the payload of OrderPlaced version 3, the version the API emits: v2
// without the payment token, which is payment data and stays with the payments service.
// order-api stores it in a payment intent and the event names only the intent.
type OrderPlacedV3 struct {
	OrderID    string `json:"orderId"`
	CustomerID string `json:"customerId"` // the signed-in customer (the access token's sub)
	Items      []Item `json:"items"`
	TotalCents int64  `json:"totalCents"`
	Currency   string `json:"currency,omitempty"` // always set: by the API, or "USD" by the upcaster
	// PaymentIntentID names the payment intent that holds the token; "" only on an event
	// upcast from v1 or v2, whose token travelled in the event itself (see LegacyPaymentToken).
	PaymentIntentID string `json:"paymentIntentId,omitempty"`
}

// OrderPlaced is the OrderPlaced payload consumers read: the latest version, as Upcast
// returns it. Code against it rather than a numbered version.
type OrderPlaced = OrderPlacedV3

// MaxLineQuantity is the most units of one SKU a line of any event may carry (the schemas'
// quantity). An order may list a SKU on several lines: what they add up to can be more.
const MaxLineQuantity = 100

// StockLine is a quantity of one SKU, as reserved or released.
type StockLine struct {
	SKU      string `json:"sku"`
	Quantity int    `json:"quantity"`
}

// InventoryReserved is the payload of InventoryReserved v1.
type InventoryReserved struct {
	OrderID string      `json:"orderId"`
	Items   []StockLine `json:"items"`
}

// InventoryReleased is the payload of InventoryReleased v1; Reason is a kebab-case code.
type InventoryReleased struct {
	OrderID string      `json:"orderId"`
	Items   []StockLine `json:"items"`
	Reason  string      `json:"reason"`
}

// PaymentApproved is the payload of PaymentApproved v1.
type PaymentApproved struct {
	OrderID     string `json:"orderId"`
	PaymentID   string `json:"paymentId"`
	AmountCents int64  `json:"amountCents"`
}

// PaymentDeclined is the payload of PaymentDeclined v1; Reason is a kebab-case code
// such as "card-declined".
type PaymentDeclined struct {
	OrderID   string `json:"orderId"`
	PaymentID string `json:"paymentId"`
	Reason    string `json:"reason"`
}

// PaymentRefunded is the payload of PaymentRefunded v1: the approved payment PaymentID was
// given back in full (AmountCents) because the order could not be fulfilled. Reason is a
// kebab-case code, e.g. ReasonFulfilmentFailed.
type PaymentRefunded struct {
	OrderID     string `json:"orderId"`
	PaymentID   string `json:"paymentId"`
	AmountCents int64  `json:"amountCents"`
	Reason      string `json:"reason"`
}

// OrderConfirmed is the payload of OrderConfirmed v1.
type OrderConfirmed struct {
	OrderID    string `json:"orderId"`
	TotalCents int64  `json:"totalCents"`
}

// OrderShipped is the payload of OrderShipped v1.
type OrderShipped struct {
	OrderID    string `json:"orderId"`
	ShipmentID string `json:"shipmentId"`
	Carrier    string `json:"carrier"`
}

// OrderCancelled is the payload of OrderCancelled v1; Reason is one of ReasonOutOfStock,
// ReasonPaymentDeclined, ReasonFulfilmentFailed, ReasonTimedOut.
type OrderCancelled struct {
	OrderID string `json:"orderId"`
	Reason  string `json:"reason"`
}
