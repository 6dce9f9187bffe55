package boot

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

// Handler is f as the lambda.Handler the runtime calls, answering as lambda.Start(f) would: the
// same bytes, or an error of the same type and text (the runtime names its errorType after it).
// lambda.Start(f) decodes every event with a json.Decoder, which first copies the payload into
// a buffer it grows as it reads: for a batch of ten payment tasks (40 KB), 130 KB allocated an
// invoke, 30 % of all the handler allocated (make bench's B/op, before and after). Handler
// decodes with json.Unmarshal, and only where that fails does it decode again as aws-lambda-go
// does, whose answer then stands: a Decoder reads the first value and leaves what follows it,
// and says io.EOF of an empty payload. f's answer is encoded as aws-lambda-go encodes it (no
// HTML escaping, no trailing newline); f's error is returned as it is. One difference stays out of
// Handler's reach: aws-lambda-go posts a lambda.Handler's answer to the Runtime API as
// application/octet-stream where it posts lambda.Start(f)'s as application/json. A buffered
// invoke's payload is JSON bytes either way to its callers here (API Gateway, Step Functions, the
// event source mappings and EventBridge read the bytes; the end-to-end tests pass through all of
// them on MiniStack); it would matter to response streaming, which no function uses.
func Handler[In, Out any](f func(context.Context, In) (Out, error)) lambda.Handler {
	return handler[In, Out](f)
}

// Sink is Handler for a function that answers nothing but its error (an EventBridge target):
// its answer is null, as aws-lambda-go writes it.
func Sink[In any](f func(context.Context, In) error) lambda.Handler {
	return handler[In, *struct{}](func(ctx context.Context, in In) (*struct{}, error) { return nil, f(ctx, in) })
}

type handler[In, Out any] func(context.Context, In) (Out, error)

func (f handler[In, Out]) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var in In
	if json.Unmarshal(payload, &in) != nil {
		in = *new(In) // what Unmarshal filled before it failed
		if err := json.NewDecoder(bytes.NewReader(payload)).Decode(&in); err != nil {
			return nil, err
		}
	}
	out, err := f(ctx, in)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil // the Encoder's newline, which aws-lambda-go drops too
}
