package chaos

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	lambdatypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/orderflow-dev/orderflow/functions/toolkit"
)

// FunctionUpdateAPI is the part of the Lambda client arming uses.
type FunctionUpdateAPI interface {
	GetFunctionConfiguration(ctx context.Context, in *lambda.GetFunctionConfigurationInput, optFns ...func(*lambda.Options)) (*lambda.GetFunctionConfigurationOutput, error)
	UpdateFunctionConfiguration(ctx context.Context, in *lambda.UpdateFunctionConfigurationInput, optFns ...func(*lambda.Options)) (*lambda.UpdateFunctionConfigurationOutput, error)
}

// Arm sets each function's ORDERFLOW_FAULTS at run time (faults: folder → configuration; names:
// folder → deployed function name), keeping every other variable, and waits until each update
// is done: Lambda starts new execution environments for a changed configuration, so every
// invocation from then on has the faults armed. The CDK app's `faults` context value is how
// a deployment arms them; this is for a test that must not redeploy. restore puts back each
// function's variables as they were, and waits for that too; call it even if Arm failed, to
// undo the functions it did arm.
func Arm(ctx context.Context, c FunctionUpdateAPI, names, faults map[string]string) (restore func(context.Context) error, err error) {
	original := map[string]map[string]string{} // function name → its variables before
	restore = func(ctx context.Context) error {
		var errs []error
		for name, env := range original {
			if err := setEnvironment(ctx, c, name, env); err != nil {
				errs = append(errs, fmt.Errorf("restore %s: %w", name, err))
			}
		}
		return errors.Join(errs...)
	}
	for folder, spec := range faults {
		name, ok := names[folder]
		if !ok {
			return restore, fmt.Errorf("arm %s: the stack has no such function", folder)
		}
		cfg, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil {
			return restore, fmt.Errorf("arm %s: %w", folder, err)
		}
		env := map[string]string{}
		if cfg.Environment != nil {
			env = maps.Clone(cfg.Environment.Variables)
		}
		armed := maps.Clone(env)
		if armed == nil {
			armed = map[string]string{}
		}
		armed[toolkit.FaultsVariable] = spec
		original[name] = env
		if err := setEnvironment(ctx, c, name, armed); err != nil {
			return restore, fmt.Errorf("arm %s: %w", folder, err)
		}
	}
	return restore, nil
}

// setEnvironment replaces a function's variables and waits until the update is done.
func setEnvironment(ctx context.Context, c FunctionUpdateAPI, name string, env map[string]string) error {
	if _, err := c.UpdateFunctionConfiguration(ctx, &lambda.UpdateFunctionConfigurationInput{
		FunctionName: aws.String(name), Environment: &lambdatypes.Environment{Variables: env},
	}); err != nil {
		return err
	}
	for {
		cfg, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil {
			return err
		}
		switch cfg.LastUpdateStatus {
		case lambdatypes.LastUpdateStatusSuccessful, "": // "": an emulator that updates at once
			return nil
		case lambdatypes.LastUpdateStatusFailed:
			return fmt.Errorf("update failed: %s", aws.ToString(cfg.LastUpdateStatusReason))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("update still %s: %w", cfg.LastUpdateStatus, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// ArmedFaults reads which faults each function of the stack has armed (its ORDERFLOW_FAULTS),
// by function folder; functions without any are left out. names: folder → deployed name.
func ArmedFaults(ctx context.Context, c FunctionConfigAPI, names map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for folder, name := range names {
		cfg, err := c.GetFunctionConfiguration(ctx, &lambda.GetFunctionConfigurationInput{FunctionName: aws.String(name)})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", folder, err)
		}
		if cfg.Environment != nil && cfg.Environment.Variables[toolkit.FaultsVariable] != "" {
			out[folder] = cfg.Environment.Variables[toolkit.FaultsVariable]
		}
	}
	return out, nil
}

// Names maps each function folder to its deployed function's name (the stack's outputs).
func Names(stack map[string]string, functions []string) map[string]string {
	out := map[string]string{}
	for _, fn := range functions {
		if name, ok := stack[OutputOf(fn)]; ok {
			out[fn] = name
		}
	}
	return out
}
