// Package envconfig fills a function's typed Config from its environment variables, the
// contract with the CDK app. It never reads the environment itself: main passes
// os.LookupEnv, tests pass a map.
package envconfig

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Load sets every string field of the struct cfg points to from the variable its `env` tag
// names, in nested and embedded structs too. Every variable is required and must be non-empty;
// the error names all that are not. A tagged field that is not an exported string is an error.
func Load(lookup func(string) (string, bool), cfg any) error {
	v := reflect.ValueOf(cfg)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return errors.New("envconfig: cfg must point to a struct")
	}
	var missing []string
	if err := load(lookup, v.Elem(), &missing); err != nil {
		return err
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing environment variables: %s", strings.Join(missing, ", "))
	}
	return nil
}

// load sets the tagged fields of the struct v, and of the structs it holds, adding the variables
// not set to missing.
func load(lookup func(string) (string, bool), v reflect.Value, missing *[]string) error {
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name := f.Tag.Get("env")
		if name == "" {
			if f.Type.Kind() == reflect.Struct && (f.IsExported() || f.Anonymous) {
				if err := load(lookup, v.Field(i), missing); err != nil {
					return err
				}
			}
			continue
		}
		if f.Type.Kind() != reflect.String || !f.IsExported() {
			return fmt.Errorf("envconfig: field %s (env %s) must be an exported string", f.Name, name)
		}
		val, ok := lookup(name)
		if !ok || strings.TrimSpace(val) == "" {
			*missing = append(*missing, name)
			continue
		}
		v.Field(i).SetString(strings.TrimSpace(val))
	}
	return nil
}

// Pairs parses "key=value,key=value" (spaces around items ignored) into a map, e.g.
// QUEUE_CHANNELS "<queueArn>=email,<queueArn>=sms". A value may contain "=", a key may not.
func Pairs(s string) (map[string]string, error) {
	m := map[string]string{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			return nil, fmt.Errorf("%q: want key=value", item)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("%q: key given twice", k)
		}
		m[k] = v
	}
	if len(m) == 0 {
		return nil, errors.New("no key=value pairs")
	}
	return m, nil
}

// Keys returns the map's keys, sorted (for logs and error messages).
func Keys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// PositiveInt parses a whole number >= 1, e.g. MAX_RECEIVE_COUNT "3".
func PositiveInt(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q: want a whole number >= 1", s)
	}
	return n, nil
}
