package docs

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
)

// TestCapacityCountsMetrics: the custom metrics CAPACITY.md prices are as many as the functions
// can emit. CloudWatch bills each name and dimension-value combination as one metric, so a
// metric published with no dimension and per Reason counts once plus once per reason.
func TestCapacityCountsMetrics(t *testing.T) {
	m := regexp.MustCompile(`the (\d+) custom metrics`).FindStringSubmatch(read(t, "CAPACITY.md"))
	if m == nil {
		t.Fatal(`CAPACITY.md names no "the N custom metrics"`)
	}
	documented, _ := strconv.Atoi(m[1])
	c := toolkit.BusinessMetrics()
	values := map[string]int{}
	for _, d := range c.Dimensions {
		values[d.Name] = len(d.Values)
	}
	emitted := 0
	for _, metric := range c.Metrics {
		sets := metric.Dimensions
		if len(sets) == 0 {
			sets = [][]string{{}}
		}
		for _, set := range sets {
			n := 1
			for _, name := range set {
				n *= values[name]
			}
			emitted += n
		}
	}
	if documented != emitted {
		t.Errorf("CAPACITY.md prices %d custom metrics; the catalog emits %d", documented, emitted)
	}
}
