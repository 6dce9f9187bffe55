// Package fnlogstest is a CloudWatch Logs fake for the code that reads functions' log lines
// through package fnlogs.
package fnlogstest

import (
	"context"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
)

// Logs serves each log group's lines (Groups): those holding the filter pattern's term (the
// pattern with its quotes taken off), PageSize to a page (0: all on one). A group it lacks is not
// there (ResourceNotFoundException). It keeps every request in Got.
type Logs struct {
	Groups   map[string][]string
	PageSize int
	Got      []*cloudwatchlogs.FilterLogEventsInput
}

// FilterLogEvents implements fnlogs.LogsAPI.
func (f *Logs) FilterLogEvents(_ context.Context, in *cloudwatchlogs.FilterLogEventsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error) {
	f.Got = append(f.Got, in)
	lines, ok := f.Groups[aws.ToString(in.LogGroupName)]
	if !ok {
		return nil, &logtypes.ResourceNotFoundException{Message: aws.String("no such group")}
	}
	var matched []string
	for _, l := range lines {
		if strings.Contains(l, strings.Trim(aws.ToString(in.FilterPattern), `"`)) {
			matched = append(matched, l)
		}
	}
	from, _ := strconv.Atoi(aws.ToString(in.NextToken))
	to := len(matched)
	if f.PageSize > 0 {
		to = min(from+f.PageSize, len(matched))
	}
	out := &cloudwatchlogs.FilterLogEventsOutput{}
	for _, l := range matched[from:to] {
		out.Events = append(out.Events, logtypes.FilteredLogEvent{Message: aws.String(l)})
	}
	if to < len(matched) {
		out.NextToken = aws.String(strconv.Itoa(to))
	}
	return out, nil
}
