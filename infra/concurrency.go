package main

import (
	"fmt"
	"strconv"
	"strings"
)

// The concurrency budget: how many copies of each function may run at once, and how many batches
// each queue hands its consumer at once. Unbounded, a burst of clients starts a process per
// request on every stage (a load of 80 clients left 247 function processes on a 2-core machine
// and throughput collapsed); bounded, the excess waits where the platform keeps it and the
// machine works at its pace. The numbers come from `make load` (README, "Performance"); on AWS
// they also bound cost and protect the tables downstream.
//
// order-api has none reserved, on purpose: the API's throttles are its bound. A caller of an HTTP
// API cannot wait in a queue, and a Lambda throttle reaches it as API Gateway's 500 (not a 429 it
// would retry), so a cap on the function below what the throttles let in (50/s, burst 100, for
// POST /orders; 100/s, burst 200, for each other route) would turn a burst they admit into errors.
const (
	// streamer: reserved concurrency. EventBridge invokes it asynchronously: a throttled event
	// waits in Lambda's own queue and is retried, nothing is lost.
	streamerConcurrency = 10
	// inventory and shipping: reserved concurrency. Step Functions retries a throttled task
	// (Lambda.TooManyRequestsException) with backoff.
	taskConcurrency = 10
	// rescuer: reserved concurrency. A wave of failed executions (a dependency down) invokes it
	// once each, asynchronously: two at a time, the rest wait in Lambda's queue (retried for up to
	// its six hours' event age), rather than take the account's unreserved pool from order-api.
	rescuerConcurrency = 2
	// payments queue: batches handed to the payment function at once (SQS MaximumConcurrency);
	// each batch of 10 is handled concurrently inside (record.SQS).
	paymentsConcurrency = 5
	// notification queues: batches at once per queue; notifications are not urgent.
	notifierConcurrency = 2

	// POST /orders: the route's own throttle (requests per second, burst), below the stage's
	// (100, 200) that GET routes keep. Beyond it API Gateway answers 429 with a JSON error.
	// Context placeOrderRate sets another rate (burst twice it): the rate the deployment sustains.
	placeOrderRate, placeOrderBurst = 50, 100
)

// RouteThrottle is a route's token bucket: Rate requests a second, holding up to Burst.
type RouteThrottle struct{ Rate, Burst float64 }

// ParsePlaceOrderRate reads context placeOrderRate: POST /orders' requests a second, its burst twice
// that. None: 50/s, burst 100. Set it to what the target sustains, e.g. `make deploy-local
// CONTEXT="-c placeOrderRate=5"` on a 2-core machine, whose emulator keeps up with 5 orders a second
// (README, "Performance"): beyond it clients get 429 and retry, instead of orders queueing inside.
func ParsePlaceOrderRate(v any) (RouteThrottle, error) {
	s := strings.TrimSpace(fmt.Sprint(v))
	if v == nil || s == "" {
		return RouteThrottle{Rate: placeOrderRate, Burst: placeOrderBurst}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 5000 {
		return RouteThrottle{}, fmt.Errorf("context placeOrderRate=%s: want a whole number of requests a second from 1 to 5000 (half the account's API Gateway quota, 10000)", s)
	}
	return RouteThrottle{Rate: float64(n), Burst: float64(2 * n)}, nil
}
