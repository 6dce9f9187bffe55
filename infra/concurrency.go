package main

// The concurrency budget: how many copies of each function may run at once, and how many batches
// each queue hands its consumer at once. Unbounded, a burst of clients starts a process per
// request on every stage (a load of 80 clients left 247 function processes on a 2-core machine
// and throughput collapsed); bounded, the excess waits where the platform keeps it and the
// machine works at its pace. The numbers come from `make load` (README, "Performance"); on AWS
// they also bound cost and protect the tables downstream.
const (
	// order-api: reserved concurrency. Past it Lambda throttles and the client gets 429 (the
	// route throttle below answers 429 first on AWS).
	orderAPIConcurrency = 20
	// streamer: reserved concurrency. EventBridge invokes it asynchronously: a throttled event
	// waits in Lambda's own queue and is retried, nothing is lost.
	streamerConcurrency = 10
	// inventory and shipping: reserved concurrency. Step Functions retries a throttled task
	// (Lambda.TooManyRequestsException) with backoff.
	taskConcurrency = 10
	// payments queue: batches handed to the payment function at once (SQS MaximumConcurrency);
	// each batch of 10 is handled concurrently inside (record.SQS).
	paymentsConcurrency = 5
	// notification queues: batches at once per queue; notifications are not urgent.
	notifierConcurrency = 2

	// POST /orders: the route's own throttle (requests per second, burst), below the stage's
	// (100, 200) that GET routes keep. Beyond it API Gateway answers 429 with a JSON error.
	placeOrderRate, placeOrderBurst = 50, 100
)
