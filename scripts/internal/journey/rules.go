package journey

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
)

// RuleCheckAPI names the way rules are evaluated when the endpoint answers TestEventPattern.
const RuleCheckAPI = "EventBridge TestEventPattern"

// readRules lists the orders bus's rules and their targets (once per collector).
func (c *Collector) readRules(ctx context.Context) ([]Rule, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rulesRead {
		return c.rules, nil
	}
	bus := c.res[ResBus]
	var rules []Rule
	var token *string
	for {
		out, err := c.eb.ListRules(ctx, &eventbridge.ListRulesInput{EventBusName: aws.String(bus), NextToken: token})
		if err != nil {
			return nil, fmt.Errorf("list rules of %s: %w", bus, err)
		}
		for _, r := range out.Rules {
			if r.EventPattern == nil || (r.State != "" && r.State != "ENABLED" && r.State != "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS") {
				continue // a scheduled or disabled rule routes no order event
			}
			rule := Rule{Name: aws.ToString(r.Name), Short: ShortRule(aws.ToString(r.Name)), Description: aws.ToString(r.Description),
				Pattern: aws.ToString(r.EventPattern)}
			t, err := c.eb.ListTargetsByRule(ctx, &eventbridge.ListTargetsByRuleInput{Rule: r.Name, EventBusName: aws.String(bus)})
			if err != nil {
				return nil, fmt.Errorf("targets of rule %s: %w", rule.Name, err)
			}
			for _, tg := range t.Targets {
				rule.Targets = append(rule.Targets, aws.ToString(tg.Arn))
			}
			rules = append(rules, rule)
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	c.rules, c.rulesRead = rules, true
	return rules, nil
}

var cdkHash = regexp.MustCompile(`[0-9A-F]{8,}(-[0-9A-Za-z]+)?$`)

// ShortRule strips what CloudFormation and CDK add to a rule's name: the stack and bus prefix
// ("Orderflow-RouterOrders") and the hash suffix.
func ShortRule(name string) string {
	s := cdkHash.ReplaceAllString(name, "")
	if i := strings.Index(s, "RouterOrders"); i >= 0 && len(s) > i+len("RouterOrders") {
		s = s[i+len("RouterOrders"):]
	}
	if s == "" {
		return name
	}
	return s
}

// match evaluates every rule's pattern against every event, with the endpoint's
// TestEventPattern, or, where the endpoint lacks it (or LocalRules), with MatchPattern, and
// says which in its second result.
func (c *Collector) match(ctx context.Context, evs []Event, recs []Record, rules []Rule) (map[string][]string, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]string{}
	raw := map[string][]byte{}
	for _, r := range recs {
		if _, ok := raw[r.EventID]; !ok && r.EventID != "" {
			raw[r.EventID] = r.Raw // the event exactly as EventBridge delivered it
		}
	}
	if c.ruleCheck == "" {
		c.ruleCheck = RuleCheckAPI
	}
	for _, e := range evs {
		if m, ok := c.matches[e.ID]; ok {
			out[e.ID] = m
			continue
		}
		event := raw[e.ID]
		if event == nil {
			event = c.busEvent(e, rules)
		}
		var matched []string
		complete := true
		for _, r := range rules {
			ok, err := c.test(ctx, r.Pattern, event)
			if err != nil {
				complete = false
				continue
			}
			if ok {
				matched = append(matched, r.Short)
			}
		}
		out[e.ID] = matched
		if complete {
			c.matches[e.ID] = matched
		}
	}
	return out, c.ruleCheck
}

func (c *Collector) test(ctx context.Context, pattern string, event []byte) (bool, error) {
	if !c.localRules {
		out, err := c.eb.TestEventPattern(ctx, &eventbridge.TestEventPatternInput{EventPattern: aws.String(pattern), Event: aws.String(string(event))})
		if err == nil {
			return out.Result, nil
		}
		if ctx.Err() != nil {
			return false, err
		}
		c.localRules = true
		c.ruleCheck = fmt.Sprintf("local pattern matcher (this endpoint's TestEventPattern failed: %s)", oneLine(err))
	}
	ok, err := MatchPattern([]byte(pattern), event)
	if err != nil {
		c.ruleCheck += fmt.Sprintf("; a pattern it cannot evaluate: %v", err)
	}
	return ok, err
}

func oneLine(err error) string {
	s := strings.ReplaceAll(err.Error(), "\n", " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// busEvent rebuilds the EventBridge event of a stored envelope, for an event whose stream record
// could not be read. account and region come from a rule's ARN.
func (c *Collector) busEvent(e Event, rules []Rule) []byte {
	account, region := "000000000000", c.reg
	for _, r := range rules {
		for _, t := range r.Targets {
			if p := strings.Split(t, ":"); len(p) > 4 && p[4] != "" {
				account, region = p[4], p[3]
			}
		}
	}
	ev := map[string]any{
		"version": "0", "id": e.ID, "detail-type": e.Type, "source": e.Source, "account": account,
		"time": e.Time.UTC().Format("2006-01-02T15:04:05Z"), "region": region, "resources": []string{},
		"detail": json.RawMessage(cmp.Or(e.Detail, "{}")),
	}
	b, _ := json.Marshal(ev)
	return b
}

// MatchPattern evaluates an EventBridge event pattern against an event, for endpoints without
// TestEventPattern. It knows exact values, nested objects and the prefix, suffix,
// equals-ignore-case, anything-but, exists and numeric filters; any other filter is an error.
func MatchPattern(pattern, event []byte) (bool, error) {
	var p map[string]any
	if err := json.Unmarshal(pattern, &p); err != nil {
		return false, fmt.Errorf("pattern: %w", err)
	}
	var e map[string]any
	if err := json.Unmarshal(event, &e); err != nil {
		return false, fmt.Errorf("event: %w", err)
	}
	return matchObject(p, e)
}

func matchObject(p, e map[string]any) (bool, error) {
	for k, pv := range p {
		ev, present := e[k]
		switch want := pv.(type) {
		case map[string]any:
			sub, ok := ev.(map[string]any)
			if !ok {
				return false, nil
			}
			if ok, err := matchObject(want, sub); !ok || err != nil {
				return false, err
			}
		case []any:
			ok, err := matchAny(want, ev, present)
			if !ok || err != nil {
				return false, err
			}
		default:
			return false, fmt.Errorf("pattern value of %q must be an object or an array", k)
		}
	}
	return true, nil
}

// matchAny reports whether any of the pattern's values matches the event's value (or, for an
// array in the event, any of its elements).
func matchAny(want []any, ev any, present bool) (bool, error) {
	values := []any{ev}
	if list, ok := ev.([]any); ok {
		values = list
	}
	for _, w := range want {
		if f, ok := w.(map[string]any); ok {
			if ex, ok := f["exists"].(bool); ok && len(f) == 1 {
				if ex == present {
					return true, nil
				}
				continue
			}
		}
		if !present {
			continue
		}
		for _, v := range values {
			ok, err := matchValue(w, v)
			if err != nil {
				return false, err
			}
			if ok {
				return true, nil
			}
		}
	}
	return false, nil
}

func matchValue(w, v any) (bool, error) {
	f, isFilter := w.(map[string]any)
	if !isFilter {
		return equal(w, v), nil
	}
	if len(f) != 1 {
		return false, errors.New("a filter must have exactly one key")
	}
	s, isString := v.(string)
	for op, arg := range f {
		switch op {
		case "prefix", "suffix", "equals-ignore-case":
			a, ok := arg.(string)
			if !ok {
				return false, fmt.Errorf("%s takes a string", op)
			}
			switch {
			case !isString:
				return false, nil
			case op == "prefix":
				return strings.HasPrefix(s, a), nil
			case op == "suffix":
				return strings.HasSuffix(s, a), nil
			}
			return strings.EqualFold(s, a), nil
		case "anything-but":
			switch a := arg.(type) {
			case []any:
				for _, x := range a {
					if equal(x, v) {
						return false, nil
					}
				}
				return true, nil
			case map[string]any:
				ok, err := matchValue(a, v)
				return !ok, err
			}
			return !equal(arg, v), nil
		case "numeric":
			return numeric(arg, v)
		}
		return false, fmt.Errorf("filter %q is not supported by the local matcher", op)
	}
	return false, nil
}

func equal(a, b any) bool {
	switch x := a.(type) {
	case float64:
		y, ok := b.(float64)
		return ok && x == y
	case nil:
		return b == nil
	}
	return a == b
}

func numeric(arg, v any) (bool, error) {
	n, ok := v.(float64)
	list, okList := arg.([]any)
	if !okList || len(list)%2 != 0 {
		return false, errors.New("numeric takes [op, value, ...]")
	}
	if !ok {
		return false, nil
	}
	for i := 0; i < len(list); i += 2 {
		op, _ := list[i].(string)
		x, ok := list[i+1].(float64)
		if !ok {
			return false, errors.New("numeric compares with numbers")
		}
		var hold bool
		switch op {
		case "<":
			hold = n < x
		case "<=":
			hold = n <= x
		case "=":
			hold = n == x
		case ">":
			hold = n > x
		case ">=":
			hold = n >= x
		default:
			return false, fmt.Errorf("numeric operator %q", op)
		}
		if !hold {
			return false, nil
		}
	}
	return true, nil
}
