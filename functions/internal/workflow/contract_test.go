package workflow

import (
	"encoding/json"
	"maps"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// definition is the saga's definition, as the CDK app embeds it.
const definition = "../../../infra/workflow/order-fulfilment.asl.json"

type aslState struct {
	Type       string
	Resource   string
	Error      string
	Parameters map[string]any
	Choices    []map[string]any
	Retry      []struct{ ErrorEquals []string }
	Catch      []struct{ ErrorEquals []string }
}

func loadDefinition(t *testing.T) map[string]aslState {
	t.Helper()
	b, err := os.ReadFile(definition)
	if err != nil {
		t.Fatal(err)
	}
	var def struct{ States map[string]aslState }
	if err := json.Unmarshal(b, &def); err != nil {
		t.Fatalf("%s: %v", definition, err)
	}
	return def.States
}

// walk calls f on every object and string value under v, depth first.
func walk(v any, f func(key string, value any)) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			f(k, v[k])
			walk(v[k], f)
		}
	case []any:
		for _, x := range v {
			walk(x, f)
		}
	}
}

// The definition and the Go code agree, both ways, on what a task is asked to do (every action
// constant is sent by the states listed, and no state sends another), on the outcomes the
// saga branches on (each a declared Outcome), on how a failed execution ends (the Fail states
// and their errors), and on the error types a retrier names (each one our functions return).
// A renamed constant or state fails here rather than in an execution.
func TestDefinitionKeepsTheContract(t *testing.T) {
	states := loadDefinition(t)

	actions := map[string][]string{} // action → states sending it
	outcomes := map[string]bool{}    // values $.state.outcome (or a compensation's) is compared with
	fails := map[string]string{}     // Fail state → its error
	errorTypes := map[string]bool{}  // error names in retriers and catchers
	for name, s := range states {
		walk(map[string]any{"Parameters": s.Parameters}, func(key string, value any) {
			if key == "action" {
				a, _ := value.(string)
				actions[a] = append(actions[a], name)
			}
		})
		for _, c := range s.Choices {
			walk(map[string]any{"choice": c}, func(_ string, value any) {
				if m, ok := value.(map[string]any); ok && (m["Variable"] == "$.state.outcome" || m["Variable"] == "$.compensation.state.outcome") {
					if v, ok := m["StringEquals"].(string); ok {
						outcomes[v] = true
					}
				}
			})
		}
		if s.Type == "Fail" {
			fails[name] = s.Error
		}
		for _, r := range s.Retry {
			for _, e := range r.ErrorEquals {
				errorTypes[e] = true
			}
		}
		for _, c := range s.Catch {
			for _, e := range c.ErrorEquals {
				errorTypes[e] = true
			}
		}
	}

	wantActions := map[string][]string{
		ActionReserve: {"ReserveInventory"}, ActionRelease: {"ReleaseInventory"}, ActionCompensate: {"Compensate"},
		ActionShip: {"ShipBooked", "ShipOrder"}, ActionCharge: {"RequestPayment"}, ActionRefund: {"RefundPayment"},
	}
	for a, states := range wantActions {
		if got := slices.Sorted(slices.Values(actions[a])); !slices.Equal(got, states) {
			t.Errorf("action %q is sent by %v, want %v", a, got, states)
		}
	}
	for a, by := range actions {
		if _, ok := wantActions[a]; !ok {
			t.Errorf("%v send action %q, which no task handles (workflow.Action*)", by, a)
		}
	}

	declared := map[string]bool{OutcomeReserved: true, OutcomeOutOfStock: true, OutcomeApproved: true, OutcomeDeclined: true,
		OutcomeShipped: true, OutcomeRefunded: true, OutcomeCancelled: true}
	for o := range outcomes {
		if !declared[o] {
			t.Errorf("the definition branches on outcome %q, which no task records (workflow.Outcome*)", o)
		}
	}
	// What each branch needs: stock reserved goes on to the payment, an approved payment to the
	// carrier, a refund to the cancellation; every other outcome takes a Default.
	for _, o := range []string{OutcomeReserved, OutcomeApproved, OutcomeRefunded} {
		if !outcomes[o] {
			t.Errorf("the definition never branches on outcome %q", o)
		}
	}

	wantFails := map[string]bool{FailFulfilment: true, FailRefund: true, FailCompensation: true, FailNotStarted: true}
	got := map[string]bool{}
	for state, e := range fails {
		if state != e {
			t.Errorf("Fail state %s has error %q: name it after its error (the rescuer and alarms read the error)", state, e)
		}
		got[e] = true
	}
	if !reflect.DeepEqual(got, wantFails) {
		t.Errorf("Fail errors %v, want %v (workflow.Fail*; tell Compensated about a new one)", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(wantFails)))
	}
	for e := range wantFails {
		if want := e == FailFulfilment || e == FailRefund; Compensated(e) != want {
			t.Errorf("Compensated(%q) = %v, want %v", e, !want, want)
		}
	}

	// Error names that are neither the platform's (States.*, Lambda.*, SQS.*, DynamoDB.*) nor
	// ours are typos that never match.
	ours := map[string]bool{
		reflect.TypeFor[InvalidInputError]().Name(): true,
		reflect.TypeFor[TransientError]().Name():    true,
		"ShipmentRefusedError":                      true, // functions/shipping
	}
	for e := range errorTypes {
		platform := strings.HasPrefix(e, "States.") || strings.HasPrefix(e, "Lambda.") || strings.HasPrefix(e, "SQS.") || strings.HasPrefix(e, "DynamoDB.")
		if !platform && !ours[e] {
			t.Errorf("a retrier or catcher names error %q, which nothing returns", e)
		}
	}
}
