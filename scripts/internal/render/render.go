// Package render shows a journey to people: as a text table (Text, Live) or as a self-contained
// HTML page with a sequence diagram (HTML).
package render

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/orderflow-dev/orderflow/events"
	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
)

// Text writes the whole journey: a summary, the order's events with their ids, then one line per
// hop in order with its time, the latency since the previous hop, service, resource, event and
// what happened.
func Text(w io.Writer, j journey.Journey) error {
	ew := &errWriter{w: w}
	Summary(ew, j)
	Events(ew, j)
	ew.printf("\nHops, in the order they happened (≈: no API records this instant; the time shown is that of its recorded effect)\n")
	ew.printf("%s\n", HopHeader)
	for _, s := range j.Timeline() {
		ew.printf("%s\n", HopLine(s))
	}
	Footer(ew, j)
	return ew.err
}

// Heading writes which order the trace is about and the id that ties its events together.
func Heading(w io.Writer, j journey.Journey) {
	ew := asErrWriter(w)
	ew.printf("Trace of %s\n", j.OrderID)
	ew.printf("  correlationId  %s  (the id of OrderPlaced, carried by every event of the order)\n", orDash(j.CorrelationID))
	if j.RuleCheck != "" {
		ew.printf("  rules          matched with %s on the %s\n", j.RuleCheck, journey.ResBus)
	}
}

// Summary writes what the trace is about: order, correlation id, how rules were checked,
// execution and outcome.
func Summary(w io.Writer, j journey.Journey) {
	ew := asErrWriter(w)
	Heading(ew, j)
	exec := "not started yet"
	if j.ExecutionArn != "" {
		exec = j.ExecutionArn[strings.LastIndex(j.ExecutionArn, ":")+1:] + " " + j.Status
	}
	ew.printf("  execution      %s\n", exec)
	ew.printf("  outcome        %s\n", Outcome(j))
}

// Outcome says where the order stands, from its events, and how long it took (Timing).
func Outcome(j journey.Journey) string {
	if len(j.Events) == 0 {
		return "no event yet"
	}
	last := j.Events[len(j.Events)-1]
	s := fmt.Sprintf("%s after %d events", last.Type, len(j.Events))
	if d, measured := Timing(j); d > 0 {
		s += fmt.Sprintf(", %s %s", Latency(d), measured)
	}
	return s
}

// Timing is how long the order took and, in words, what was measured. An order that has ended is
// timed from its first hop to the event that ended it, as stored: what happens to it later (a
// duplicate injected minutes after, a replay) is not how long the order took. Any other order,
// or an ended one whose end the event store holds no time for, is timed from its first hop to its
// last, and the words say so.
func Timing(j journey.Journey) (time.Duration, string) {
	if len(j.Hops) == 0 {
		return 0, ""
	}
	for _, e := range j.Events {
		if !events.EndsOrder(events.Type(e.Type)) {
			continue
		}
		if e.RecordedAt.IsZero() {
			return j.Duration(), fmt.Sprintf("from the first hop to the last (the event store holds no time for %s)", e.Type)
		}
		return e.RecordedAt.Sub(j.Hops[0].Time), fmt.Sprintf("from the first hop to %s in the event store", e.Type)
	}
	return j.Duration(), "from the first hop to the last"
}

// Events writes the order's events: the facts, with the ids that tie the hops together.
func Events(w io.Writer, j journey.Journey) {
	ew := asErrWriter(w)
	ew.printf("\nEvents (immutable facts, as the event store holds them; each names the event that caused it)\n")
	ew.printf("  %-3s %-19s %-4s %-10s %-20s %-21s %s\n", "#", "TYPE", "VER", "ID", "CAUSED BY (causationId)", "SOURCE", "CREATED (UTC)")
	seq := map[string]journey.Event{}
	for _, e := range j.Events {
		seq[e.ID] = e
	}
	for _, e := range j.Events {
		cause := "- (the first fact)"
		if e.CausationID != "" {
			cause = journey.Short(e.CausationID)
			if c, ok := seq[e.CausationID]; ok {
				cause += fmt.Sprintf(" (#%d)", c.Sequence)
			}
		}
		ew.printf("  %-3d %-19s v%-3d %-10s %-20s %-21s %s\n", e.Sequence, e.Type, e.Version, journey.Short(e.ID), cause, e.Source,
			e.Time.UTC().Format("15:04:05.000"))
	}
}

// HopHeader is the header of the hop lines.
var HopHeader = fmt.Sprintf("%3s  %-13s %8s  %-14s %-25s %-22s %s", "N", "TIME (UTC)", "+LATENCY", "SERVICE", "RESOURCE", "EVENT", "WHAT HAPPENED")

// HopLine is one hop as a line of text.
func HopLine(s journey.Step) string {
	t := s.Time.UTC().Format("15:04:05.000")
	if s.Approx {
		t += "≈"
	}
	lat := "-"
	if s.N > 1 {
		lat = "+" + Latency(s.SincePrev)
		if s.SincePrev < 0 {
			lat = Latency(s.SincePrev)
		}
	}
	what := tagged(s.Hop)
	if s.Revised { // -follow printed this hop before its details were known
		what = "UPDATED: " + what
	}
	return fmt.Sprintf("%3d  %-13s %8s  %s", s.N, t, lat, columns(s.Hop, what))
}

// HopSays is what a hop's line shows apart from its number and times, exactly as HopLine prints
// it: -follow prints a hop again only when this changes (journey.Printed), so that no line comes
// UPDATED for a field the line does not show.
func HopSays(h journey.Hop) string { return columns(h, tagged(h)) }

// columns is a hop's line after its times: service, resource, event and what happened.
func columns(h journey.Hop, what string) string {
	return fmt.Sprintf("%-14s %-25s %-22s %s", h.Service, clip(h.Resource, 25), clip(EventLabel(h), 22), what)
}

// tagged is what happened, after the hop's tag (Tag) if it has one.
func tagged(h journey.Hop) string {
	if tag := Tag(h); tag != "" {
		return tag + ": " + h.What
	}
	return h.What
}

// Tag marks a hop that consumers must not apply: CONFLICT for a delivery that claims a stored
// event's id with other content (the projector parks it), DUPLICATE for the same event again
// (ignored); "" for the others.
func Tag(h journey.Hop) string {
	switch {
	case h.Conflict:
		return "CONFLICT"
	case h.Duplicate:
		return "DUPLICATE"
	}
	return ""
}

// EventLabel names the hop's event: "#2 InventoryReserved", "-" without one.
func EventLabel(h journey.Hop) string {
	switch {
	case h.EventType == "":
		return "-"
	case h.Sequence > 0:
		return fmt.Sprintf("#%d %s", h.Sequence, h.EventType)
	}
	return h.EventType
}

// Footer writes the services crossed, the resources' physical names and what the trace could not see.
func Footer(w io.Writer, j journey.Journey) {
	ew := asErrWriter(w)
	ew.printf("\nServices crossed: %s\n", strings.Join(j.Services(), " → "))
	if len(j.Resources) > 0 {
		ew.printf("\nResources (friendly name → deployed name):\n")
		names := make([]string, 0, len(j.Resources))
		for n := range j.Resources {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			ew.printf("  %-26s %s\n", n, j.Resources[n])
		}
	}
	for _, n := range j.Notes {
		ew.printf("\nNote: %s\n", n)
	}
}

// Latency renders a duration for people: milliseconds below a second, seconds above.
func Latency(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	var s string
	switch {
	case d < time.Second:
		s = fmt.Sprintf("%dms", d.Round(time.Millisecond)/time.Millisecond)
	case d < time.Minute:
		s = fmt.Sprintf("%.3fs", d.Seconds())
	default:
		s = d.Round(time.Second).String()
	}
	if neg {
		return "-" + s
	}
	return s
}

// clip shortens s to n runes, the last an ellipsis; n < 1 leaves nothing.
func clip(s string, n int) string {
	if n < 1 {
		return ""
	}
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// errWriter keeps the first write error, so that a page of printf calls checks it once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { _, _ = fmt.Fprintf(e, format, args...) }

func asErrWriter(w io.Writer) *errWriter {
	if ew, ok := w.(*errWriter); ok {
		return ew
	}
	return &errWriter{w: w}
}
