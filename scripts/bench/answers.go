package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// What the answers must be: the checks each payload's Expect is made of.

func wantJSON(answer []byte, want string) error {
	var got, exp any
	if err := json.Unmarshal(answer, &got); err != nil {
		return fmt.Errorf("answer is not JSON: %w", err)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		return err
	}
	if !reflect.DeepEqual(got, exp) {
		return fmt.Errorf("answer %s, want %s", answer, want)
	}
	return nil
}

func wantHTTP(status int, bodyHas string) func([]byte) error {
	return func(answer []byte) error {
		var resp struct {
			StatusCode int    `json:"statusCode"`
			Body       string `json:"body"`
		}
		if err := json.Unmarshal(answer, &resp); err != nil {
			return fmt.Errorf("answer is not an HTTP API response: %w", err)
		}
		if resp.StatusCode != status || !strings.Contains(resp.Body, bodyHas) {
			return fmt.Errorf("answered %d %q, want %d with %q", resp.StatusCode, resp.Body, status, bodyHas)
		}
		return nil
	}
}

// wantErrorType wants a function error of that type ("": any).
func wantErrorType(errorType string) func([]byte) error { return wantError(errorType, "") }

// wantError wants a function error of that type ("": any) whose message says says ("": anything):
// the error of the call the path means to fail, not another's.
func wantError(errorType, says string) func([]byte) error {
	return func(answer []byte) error {
		var e struct {
			ErrorMessage string `json:"errorMessage"`
			ErrorType    string `json:"errorType"`
		}
		if err := json.Unmarshal(answer, &e); err != nil || e.ErrorMessage == "" {
			return fmt.Errorf("answer %s is not a function error", answer)
		}
		if errorType != "" && e.ErrorType != errorType {
			return fmt.Errorf("error type %q (%s), want %q", e.ErrorType, e.ErrorMessage, errorType)
		}
		if !strings.Contains(e.ErrorMessage, says) {
			return fmt.Errorf("error %q, want one saying %q", e.ErrorMessage, says)
		}
		return nil
	}
}

func wantFailures(n int) func([]byte) error {
	return func(answer []byte) error {
		var resp struct {
			Failures *[]struct {
				ID string `json:"itemIdentifier"`
			} `json:"batchItemFailures"`
		}
		if err := json.Unmarshal(answer, &resp); err != nil {
			return fmt.Errorf("answer is not a batch response: %w", err)
		}
		if resp.Failures == nil {
			return errors.New("answer has no batchItemFailures")
		}
		if len(*resp.Failures) != n {
			return fmt.Errorf("%d batch item failures, want %d", len(*resp.Failures), n)
		}
		return nil
	}
}
