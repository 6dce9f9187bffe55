//go:build race

package events

// raceDetector: the tests run under -race (make test does, beside a run without it), where the
// equivalence tests keep one mutation in 128: what -race looks for is shared state, not inputs.
const raceDetector = true
