package render

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"

	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
)

//go:embed page.html.tmpl
var pageTemplate string

var page = template.Must(template.New("page").Parse(pageTemplate))

// Geometry of the sequence diagram, in pixels.
const (
	gutter    = 188 // left: hop number, time, latency
	laneW     = 106
	rowH      = 27
	headH     = 58
	whatW     = 545
	whatChars = 78
)

// Colours of the services (lane headers) and of the events (arrows), so that one event's path
// through the services reads as one colour.
var (
	serviceColour = map[string]string{
		journey.Client: "#495057", journey.APIGateway: "#7048e8", journey.EventBridge: "#d6336c",
		journey.StepFunctions: "#2b8a3e", journey.SQS: "#f59f00", journey.SNS: "#c92a2a",
		journey.Kinesis: "#1098ad", journey.Lambda: "#e8590c", journey.DynamoDB: "#364fc7",
	}
	serviceRole = map[string]string{
		journey.Client: "caller", journey.APIGateway: "sync entry", journey.EventBridge: "router",
		journey.StepFunctions: "orchestrator", journey.SQS: "point-to-point", journey.SNS: "pub/sub",
		journey.Kinesis: "stream", journey.Lambda: "functions", journey.DynamoDB: "tables",
	}
	eventColours = []string{"#1c7ed6", "#2b8a3e", "#d9480f", "#ae3ec9", "#0b7285", "#e67700", "#5c940d", "#364fc7", "#a61e4d"}
	noEvent      = "#6c757d"
)

type lane struct {
	Name, Role, Colour string
	X, Left            int
}

type hopView struct {
	journey.Step
	Y, X1, X2, LabelX, LoopX int
	Self, Left               bool
	Path, Head               string
	BandY, TextY, LabelY     int
	Odd                      bool
	Colour, Label, Event     string
	Time, SincePrev, Cause   string
	WhatShort, Title         string
	Tag                      string // CONFLICT, DUPLICATE or "" (Tag)
	FromLane, ToLane         string
}

type eventView struct {
	journey.Event
	Colour, Short, CauseShort, CauseN, Created, Recorded, Pretty string
	Rules                                                        []string
}

type ruleView struct {
	journey.Rule
	Targets string
	Matched []string
}

type pageView struct {
	J                        journey.Journey
	Exec, Outcome, Timing    string // Timing: how long the order took and what was measured
	Lanes                    []lane
	Hops                     []hopView
	Events                   []eventView
	Rules                    []ruleView
	Resources                [][2]string
	Services                 string
	Width, Height, DiagWidth int
	LanesRight, WhatX        int
	Approx, Duplicates       int
}

// HTML writes a self-contained page (inline CSS, SVG and a little JavaScript; nothing fetched)
// with a sequence diagram of the journey, one lane per service and one arrow per hop, then the
// events, the rules and every hop as a table.
func HTML(w io.Writer, j journey.Journey) error {
	v := pageView{J: j, Outcome: Outcome(j), Services: strings.Join(j.Services(), " → ")}
	if d, measured := Timing(j); d > 0 { // as the outcome times it, not the diagram's span
		v.Timing = Latency(d) + " " + measured
	}
	v.Exec = "not started yet"
	if j.ExecutionArn != "" {
		v.Exec = j.ExecutionArn[strings.LastIndex(j.ExecutionArn, ":")+1:] + " · " + j.Status
	}
	used := map[string]bool{}
	for _, h := range j.Hops {
		used[h.From], used[h.Service] = true, true
	}
	x := map[string]int{}
	for _, name := range journey.Lanes {
		if !used[name] {
			continue
		}
		l := lane{Name: name, Role: serviceRole[name], Colour: serviceColour[name], Left: gutter + len(v.Lanes)*laneW}
		l.X = l.Left + laneW/2
		x[name] = l.X
		v.Lanes = append(v.Lanes, l)
	}
	for _, h := range j.Hops { // a service the layout does not know still gets a lane
		for _, name := range []string{h.From, h.Service} {
			if _, ok := x[name]; !ok && name != "" {
				l := lane{Name: name, Colour: noEvent, Left: gutter + len(v.Lanes)*laneW}
				l.X = l.Left + laneW/2
				x[name] = l.X
				v.Lanes = append(v.Lanes, l)
			}
		}
	}
	v.LanesRight = gutter + len(v.Lanes)*laneW
	v.WhatX = v.LanesRight + 14
	v.DiagWidth = v.WhatX + whatW
	v.Width = v.DiagWidth

	colour := map[string]string{}
	for i, e := range j.Events {
		colour[e.ID] = eventColours[i%len(eventColours)]
	}
	for _, s := range j.Timeline() {
		hv := hopView{Step: s, Y: headH + (s.N-1)*rowH + rowH/2 + 4, FromLane: s.From, ToLane: s.Service}
		from, ok := x[s.From]
		if !ok {
			from = x[s.Service]
		}
		hv.X1, hv.X2 = from, x[s.Service]
		hv.Self = hv.X1 == hv.X2
		hv.Left = hv.X2 < hv.X1
		hv.LabelX = (hv.X1 + hv.X2) / 2
		hv.BandY, hv.TextY, hv.LabelY, hv.Odd = hv.Y-17, hv.Y+4, hv.Y-5, s.N%2 == 1
		hv.Path, hv.Head = arrow(hv.X1, hv.X2, hv.Y)
		if hv.Self {
			hv.LoopX = hv.X1 + 22
			hv.LabelX = hv.X1 + 28
			hv.LabelY = hv.Y + 1
		}
		hv.Colour = noEvent
		if c, ok := colour[s.EventID]; ok {
			hv.Colour = c
		}
		if s.Duplicate {
			hv.Colour = "#e03131"
		}
		hv.Label = s.Action
		if hv.Event = EventLabel(s.Hop); hv.Event == "-" {
			hv.Event = ""
		}
		hv.Time = s.Time.UTC().Format("15:04:05.000")
		if s.Approx {
			hv.Time += "≈"
			v.Approx++
		}
		if s.Duplicate {
			v.Duplicates++
		}
		hv.SincePrev = "start"
		if s.N > 1 {
			hv.SincePrev = "+" + Latency(s.SincePrev)
			if s.SincePrev < 0 {
				hv.SincePrev = Latency(s.SincePrev)
			}
		}
		if s.CauseN > 0 {
			hv.Cause = fmt.Sprintf("#%d, %s before", s.CauseN, Latency(s.SinceCause))
		}
		what := s.What
		if hv.Tag = Tag(s.Hop); hv.Tag != "" {
			what = hv.Tag + ": " + what
		}
		hv.WhatShort = clip(what, whatChars-len([]rune(hv.Event)))
		hv.Title = fmt.Sprintf("#%d %s → %s · %s · %s\n%s\n(evidence: %s)", s.N, orDash(s.From), s.Service, s.Resource, hv.Event, what, s.Evidence)
		v.Hops = append(v.Hops, hv)
	}
	v.Height = headH + len(v.Hops)*rowH + 16

	byID := map[string]journey.Event{}
	for _, e := range j.Events {
		byID[e.ID] = e
	}
	matched := map[string][]string{}
	for _, h := range j.Hops {
		if h.Service == journey.EventBridge && !h.Duplicate && len(h.Rules) > 0 {
			matched[h.EventID] = h.Rules
		}
	}
	for _, e := range j.Events {
		ev := eventView{Event: e, Colour: colour[e.ID], Short: journey.Short(e.ID), Created: e.Time.UTC().Format("15:04:05.000"),
			Rules: matched[e.ID], Pretty: pretty(e.Detail)}
		if !e.RecordedAt.IsZero() {
			ev.Recorded = e.RecordedAt.UTC().Format("15:04:05.000")
		}
		if e.CausationID != "" {
			ev.CauseShort = journey.Short(e.CausationID)
			if c, ok := byID[e.CausationID]; ok {
				ev.CauseN = fmt.Sprintf("#%d %s", c.Sequence, c.Type)
			}
		}
		v.Events = append(v.Events, ev)
	}
	for _, r := range j.Rules {
		rv := ruleView{Rule: r, Targets: strings.Join(r.Targets, "\n")}
		for _, e := range j.Events {
			for _, m := range matched[e.ID] {
				if m == r.Short {
					rv.Matched = append(rv.Matched, fmt.Sprintf("#%d %s", e.Sequence, e.Type))
				}
			}
		}
		v.Rules = append(v.Rules, rv)
	}
	names := make([]string, 0, len(j.Resources))
	for n := range j.Resources {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v.Resources = append(v.Resources, [2]string{n, j.Resources[n]})
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, v); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// arrow returns the SVG path of a hop's shaft and the points of its head: a straight arrow
// between two lifelines, or a small loop on one.
func arrow(x1, x2, y int) (path, head string) {
	if x1 == x2 {
		y1, y2 := y-7, y+4
		path = fmt.Sprintf("M%d %d H%d V%d H%d", x1+3, y1, x1+22, y2, x1+11)
		return path, fmt.Sprintf("%d,%d %d,%d %d,%d", x1+3, y2, x1+11, y2-4, x1+11, y2+4)
	}
	d := 1
	if x2 < x1 {
		d = -1
	}
	tip, base := x2-d*3, x2-d*11
	path = fmt.Sprintf("M%d %d H%d", x1+d*3, y, base)
	return path, fmt.Sprintf("%d,%d %d,%d %d,%d", tip, y, base, y-4, base, y+4)
}

func pretty(detail string) string {
	var out bytes.Buffer
	if err := json.Indent(&out, []byte(detail), "", "  "); err != nil {
		return detail
	}
	return out.String()
}
