package events

import (
	"encoding/json"
	"errors"
	"fmt"
)

// An envelope on EventBridge: read out of a whole EventBridge event (FromEventBridge), or
// made into an entry that puts it on a bus (Envelope.Entry).

// FromEventBridge parses a whole EventBridge event ({"id","detail-type","source","time",
// "detail":{...}}), as a rule target, SNS (raw delivery), SQS or Kinesis receives it. The
// detail must be a valid envelope whose type is the detail-type and whose source is the source.
func FromEventBridge(raw []byte) (Envelope, error) {
	d, err := parseJSON(raw)
	if err != nil || d.nodes[0].kind != jsonObject {
		return fromEventBridge(raw)
	}
	// The members json.Unmarshal would read into the struct below, found as it would find
	// them; anything unusual (a key in another case, repeated, not a string) goes its way.
	var detailType, source, detail int32
	for c := d.nodes[0].first; c != 0; c = d.nodes[c].next {
		nd := &d.nodes[c]
		if nd.flags&flagKeyRaw != 0 {
			return fromEventBridge(raw)
		}
		key := d.src[nd.keyStart:nd.keyEnd]
		var slot *int32
		switch {
		case string(key) == "detail-type":
			slot = &detailType
		case string(key) == "source":
			slot = &source
		case string(key) == "detail":
			slot = &detail
		case asciiEqualFold(key, "detail-type"), asciiEqualFold(key, "source"), asciiEqualFold(key, "detail"):
			return fromEventBridge(raw)
		default:
			continue
		}
		if *slot != 0 {
			return fromEventBridge(raw)
		}
		*slot = c
	}
	strOf := func(n int32) (string, bool) {
		switch {
		case n == 0 || d.nodes[n].kind == jsonNull:
			return "", true
		case d.nodes[n].kind == jsonString:
			return d.str(n), true
		}
		return "", false
	}
	dt, ok1 := strOf(detailType)
	src, ok2 := strOf(source)
	if !ok1 || !ok2 {
		return fromEventBridge(raw)
	}
	if detail == 0 || d.nodes[detail].kind == jsonNull {
		return Envelope{}, invalid("", 0, "/detail", "missing")
	}
	e, err := parseDoc(d, detail)
	return matchEventBridge(e, err, dt, src)
}

// fromEventBridge is FromEventBridge through encoding/json, for what the fast path leaves to it.
func fromEventBridge(raw []byte) (Envelope, error) { return decodeEventBridge(raw, Parse) }

// decodeEventBridge decodes an EventBridge event with encoding/json and its detail with parse.
func decodeEventBridge(raw []byte, parse func(detail []byte) (Envelope, error)) (Envelope, error) {
	var ev struct {
		DetailType string          `json:"detail-type"`
		Source     string          `json:"source"`
		Detail     json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return Envelope{}, invalid("", 0, "", "not an EventBridge event: %v", err)
	}
	if len(ev.Detail) == 0 || string(ev.Detail) == "null" {
		return Envelope{}, invalid("", 0, "/detail", "missing")
	}
	e, err := parse(ev.Detail)
	return matchEventBridge(e, err, ev.DetailType, ev.Source)
}

func matchEventBridge(e Envelope, err error, detailType, source string) (Envelope, error) {
	if err != nil {
		var ve *ValidationError
		if errors.As(err, &ve) {
			for i := range ve.Problems {
				ve.Problems[i].Path = "/detail" + ve.Problems[i].Path
			}
		}
		return Envelope{}, err
	}
	if detailType != string(e.Type) {
		return Envelope{}, invalid(e.Type, e.Version, "/detail-type", "%q does not match the detail's type %q", detailType, e.Type)
	}
	if source != e.Source {
		return Envelope{}, invalid(e.Type, e.Version, "/source", "%q does not match the detail's source %q", source, e.Source)
	}
	return e, nil
}

// Entry is a ready-to-publish EventBridge entry in the exact shape Step Functions'
// events:putEvents integration and eventbridge.PutEvents take (the API's field names).
type Entry struct {
	Source       string `json:"Source"`
	DetailType   string `json:"DetailType"`
	Detail       string `json:"Detail"`
	EventBusName string `json:"EventBusName"`
}

// Entry is e as an entry for the bus busName: detail-type = Type, detail = the envelope JSON.
func (e Envelope) Entry(busName string) (Entry, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return Entry{}, fmt.Errorf("entry for %s %s: %w", e.Type, e.ID, err)
	}
	return Entry{Source: e.Source, DetailType: string(e.Type), Detail: string(b), EventBusName: busName}, nil
}
