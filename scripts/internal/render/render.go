// Package render prints a journey for people.
package render

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
)

// Text writes one line per hop: time, latency since the previous hop, service, resource, event and
// what happened.
func Text(w io.Writer, j journey.Journey) error {
	fmt.Fprintf(w, "Journey of %s (correlationId %s, execution %s)\n\n", j.OrderID, j.CorrelationID, orDash(j.Status))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (UTC)\t+LATENCY\tSERVICE\tRESOURCE\tEVENT\tWHAT HAPPENED")
	var prev time.Time
	for _, h := range j.Hops {
		latency := "-"
		if !prev.IsZero() {
			latency = "+" + h.Time.Sub(prev).Round(time.Millisecond).String()
		}
		prev = h.Time
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", h.Time.UTC().Format("15:04:05.000"), latency, h.Service,
			short(h.Resource), orDash(h.EventType), h.What)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nServices crossed: %s\n", strings.Join(j.Services(), " → "))
	return err
}

// short keeps the last path segment of long ARNs and URLs.
func short(s string) string {
	if len(s) <= 48 {
		return s
	}
	if i := strings.LastIndexAny(s, ":/"); i >= 0 && len(s)-i > 8 {
		return "…" + s[i+1:]
	}
	return s[:47] + "…"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
