package redrive

import (
	"context"
	"os"
	"regexp"
	"testing"

	"github.com/orderflow-dev/orderflow/scripts/internal/deployed"
)

// TestEveryDeadLetterQueueOfTheStackHasAWayBack: every …DlqUrl output the stack declares
// (infra/stack.go; the infra tests hold every dead-letter queue of the template to one) is a
// Source, so a consumer added with its DLQ cannot be forgotten here.
func TestEveryDeadLetterQueueOfTheStackHasAWayBack(t *testing.T) {
	src, err := os.ReadFile("../../../infra/stack.go")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`"(\w+DlqUrl)"`).FindAllStringSubmatch(string(src), -1)
	if len(names) < 10 {
		t.Fatalf("infra/stack.go declares only %d …DlqUrl outputs", len(names))
	}
	outputs := map[string]string{}
	for _, n := range regexp.MustCompile(`"(\w+)":\s`).FindAllStringSubmatch(string(src), -1) {
		outputs[n[1]] = "out:" + n[1] // every output the stack declares, with a value naming it
	}
	sources, err := Sources(context.Background(), &deployed.Stack{Outputs: outputs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	byURL := map[string]Source{}
	for _, s := range sources {
		byURL[s.DLQURL] = s
	}
	for _, n := range names {
		s, ok := byURL["out:"+n[1]]
		switch {
		case !ok:
			t.Errorf("the stack's output %s names a dead-letter queue that redrive does not know (scripts/internal/redrive/sources.go)", n[1])
		case s.Target == ToQueue && s.Destination == "", s.Target == ToStateMachine && s.Destination == "", s.Target == ToFunction && s.Destination == "":
			t.Errorf("%s (%s) goes back to an unnamed destination", s.Name, n[1])
		}
	}
}
