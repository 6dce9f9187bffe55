// Package fnlogs reads what a deployed Lambda function logged: the lines of its log group that
// a filter pattern matches, over a window.
package fnlogs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
)

// LogsAPI is the part of the CloudWatch Logs client reading uses.
type LogsAPI interface {
	FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

// FunctionConfigAPI is the part of the Lambda client reading uses: where a function logs.
type FunctionConfigAPI interface {
	GetFunctionConfiguration(ctx context.Context, in *lambda.GetFunctionConfigurationInput, optFns ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error)
}

// Group is the log group function name writes to: its logging configuration's, or Lambda's
// default (the stack gives each function a group of its own).
func Group(ctx context.Context, fns FunctionConfigAPI, name string) (string, error) {
	cfg, err := fns.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
	if err != nil {
		return "", err
	}
	if lc := cfg.LoggingConfig; lc != nil && aws.ToString(lc.LogGroup) != "" {
		return aws.ToString(lc.LogGroup), nil
	}
	return "/aws/lambda/" + name, nil
}

// Each calls line with every message of group that pattern matches, from since until until (zero:
// no end), page by page. A group not there yet holds no lines.
func Each(ctx context.Context, logs LogsAPI, group, pattern string, since, until time.Time, line func(string)) error {
	in := &cloudwatchlogs.FilterLogEventsInput{LogGroupName: aws.String(group), FilterPattern: aws.String(pattern), StartTime: aws.Int64(since.UnixMilli())}
	if !until.IsZero() {
		in.EndTime = aws.Int64(until.UnixMilli())
	}
	p := cloudwatchlogs.NewFilterLogEventsPaginator(logs, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		var missing *logtypes.ResourceNotFoundException
		if errors.As(err, &missing) {
			return nil // the function has logged nothing yet
		}
		if err != nil {
			return fmt.Errorf("log group %s: %w", group, err)
		}
		for _, e := range page.Events {
			line(aws.ToString(e.Message))
		}
	}
	return nil
}

// Says reports whether a line a function logged has the message msg and holds the attributes
// attrs (key, value, …). The functions log with log/slog: JSON lines under Lambda's JSON log format
// (the message as slog's msg, or Lambda's message), slog's text lines where the format is not passed
// on to the function (MiniStack).
func Says(line, msg string, attrs ...string) bool {
	if i := strings.IndexByte(line, '{'); i >= 0 {
		var l map[string]any
		if json.Unmarshal([]byte(line[i:]), &l) == nil {
			if l["msg"] != msg && l["message"] != msg {
				return false
			}
			for k := 0; k+1 < len(attrs); k += 2 {
				if fmt.Sprint(l[attrs[k]]) != attrs[k+1] {
					return false
				}
			}
			return true
		}
	}
	line = " " + strings.TrimSpace(line) + " "
	if !strings.Contains(line, ` msg="`+msg+`" `) && !strings.Contains(line, ` message="`+msg+`" `) {
		return false
	}
	for k := 0; k+1 < len(attrs); k += 2 {
		if !strings.Contains(line, " "+attrs[k]+"="+attrs[k+1]+" ") {
			return false
		}
	}
	return true
}
