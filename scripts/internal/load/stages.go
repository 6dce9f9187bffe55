package load

import (
	"strings"
	"time"

	"github.com/orderflow-dev/orderflow/scripts/internal/journey"
)

// StageAPI is the one stage the client measures itself: the journey only knows when order-api
// created OrderPlaced, not when the request left the client.
const StageAPI = "API (POST /orders)"

// StageStats is the distribution of one stage over every order of a run.
type StageStats struct {
	Stage string `json:"stage"`
	From  string `json:"from"` // where the stage starts
	To    string `json:"to"`   // where it ends
	Summary
}

// Stages measures where the time goes: the client's POST latencies, then every stage of the
// journeys' spans (journey.Spans), in the order of the flow: the bus to the workflow, the
// workflow and its tasks as the journeys met them, the payments queue, the stream, the
// projector, the notifications.
func Stages(post []time.Duration, journeys []journey.Journey) []StageStats {
	byStage := map[string][]time.Duration{}
	var tasks []string
	for _, j := range journeys {
		for _, s := range j.Spans() {
			if strings.HasPrefix(s.Stage, journey.TaskStage("")) {
				if _, seen := byStage[s.Stage]; !seen {
					tasks = append(tasks, s.Stage)
				}
			}
			byStage[s.Stage] = append(byStage[s.Stage], s.Duration)
		}
	}
	defs := map[string]journey.StageDefinition{}
	for _, d := range journey.StageDefinitions {
		defs[d.Stage] = d
	}
	taskDef := defs[journey.TaskStage("<State>")]
	out := []StageStats{{Stage: StageAPI, From: "the client sends POST /orders (first try)",
		To: "the client has the 201 (retries and their back-off included)", Summary: Summarize(post)}}
	order := []string{journey.StageBusToWorkflow, journey.StageWorkflow}
	order = append(order, tasks...)
	order = append(order, journey.StagePaymentsQueue, journey.StagePaymentAnswer, journey.StageBusToStream,
		journey.StageStreamToProjector, journey.StageBusToNotification)
	for _, stage := range order {
		d, ok := defs[stage]
		if !ok {
			d = taskDef
		}
		out = append(out, StageStats{Stage: stage, From: d.From, To: d.To, Summary: Summarize(byStage[stage])})
	}
	return out
}
