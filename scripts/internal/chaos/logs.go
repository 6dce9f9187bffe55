package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
	"github.com/orderflow-dev/orderflow/scripts/internal/fnlogs"
)

// LogsAPI is the part of the CloudWatch Logs client counting uses.
type LogsAPI = fnlogs.LogsAPI

// FunctionConfigAPI is the part of the Lambda client counting uses: where a function logs.
type FunctionConfigAPI = fnlogs.FunctionConfigAPI

// injectedLine is what every injected fault logs (functions/internal/faults).
const injectedLine = "fault injected"

// Injected counts the "fault injected" lines each function logged since t, per kind: function
// folder → kind → count. functions maps each folder to its deployed function name.
func Injected(ctx context.Context, logs LogsAPI, fns FunctionConfigAPI, functions map[string]string, since time.Time) (map[string]map[string]int, error) {
	out := map[string]map[string]int{}
	var errs []error
	for folder, name := range functions {
		group, err := fnlogs.Group(ctx, fns, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", folder, err))
			continue
		}
		kinds := map[string]int{}
		err = fnlogs.Each(ctx, logs, group, `"`+injectedLine+`"`, since, time.Time{}, func(line string) {
			if kind := KindOf(line); kind != "" {
				kinds[kind]++
			}
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", folder, err))
		}
		out[folder] = kinds
	}
	return out, errors.Join(errs...)
}

var (
	kindJSON   = regexp.MustCompile(`"kind"\s*:\s*"([A-Za-z]+)"`)
	kindText   = regexp.MustCompile(`(?:^|\s)kind=([A-Za-z]+)`)
	injectText = regexp.MustCompile(`(?:^|\s)(?:msg|message)="` + injectedLine + `"`)
)

// KindDelayPastDeadline is what KindOf reads of a delay that ran past its invocation's deadline:
// unlike a delay within it, it ends the invocation as a timeout does.
const KindDelayPastDeadline = toolkit.FaultKindAddDelay + "PastDeadline"

// KindOf reads the kind of fault a log line reports, or "" if it reports none. Lambda's JSON
// log format gives a JSON line whose message is "fault injected" (slog's msg, or message as
// Lambda names it); where the format is text (MiniStack does not pass it on to the function),
// slog's text handler writes message="fault injected" kind=….
func KindOf(line string) string {
	if !strings.Contains(line, injectedLine) {
		return ""
	}
	var l struct {
		Msg          string `json:"msg"`
		Message      string `json:"message"`
		Kind         string `json:"kind"`
		PastDeadline bool   `json:"pastDeadline"`
	}
	if i := strings.IndexByte(line, '{'); i >= 0 && json.Unmarshal([]byte(line[i:]), &l) == nil {
		if l.Msg != injectedLine && l.Message != injectedLine {
			return ""
		}
		return pastDeadline(l.Kind, l.PastDeadline)
	}
	if m := kindJSON.FindStringSubmatch(line); m != nil { // a JSON line cut or prefixed: the field alone
		return pastDeadline(m[1], pastJSON.MatchString(line))
	}
	if m := kindText.FindStringSubmatch(line); m != nil && injectText.MatchString(line) {
		return pastDeadline(m[1], pastText.MatchString(line))
	}
	return ""
}

var (
	pastJSON = regexp.MustCompile(`"pastDeadline"\s*:\s*true`)
	pastText = regexp.MustCompile(`(?:^|\s)pastDeadline=true(?:\s|$)`)
)

// pastDeadline is kind, or KindDelayPastDeadline for a delay that ran past its deadline.
func pastDeadline(kind string, past bool) string {
	if kind == toolkit.FaultKindAddDelay && past {
		return KindDelayPastDeadline
	}
	return kind
}
