package metrics

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// What an Emitter may write, fixed up front: the units, the specification's limits, and the
// Catalog of metrics and dimensions, checked once by Validate.

// Unit is a CloudWatch metric unit (the MetricDatum API's list, which the EMF specification
// refers to).
type Unit string

// The units CloudWatch accepts.
const (
	Seconds            Unit = "Seconds"
	Microseconds       Unit = "Microseconds"
	Milliseconds       Unit = "Milliseconds"
	Bytes              Unit = "Bytes"
	Kilobytes          Unit = "Kilobytes"
	Megabytes          Unit = "Megabytes"
	Gigabytes          Unit = "Gigabytes"
	Terabytes          Unit = "Terabytes"
	Bits               Unit = "Bits"
	Kilobits           Unit = "Kilobits"
	Megabits           Unit = "Megabits"
	Gigabits           Unit = "Gigabits"
	Terabits           Unit = "Terabits"
	Percent            Unit = "Percent"
	Count              Unit = "Count"
	BytesPerSecond     Unit = "Bytes/Second"
	KilobytesPerSecond Unit = "Kilobytes/Second"
	MegabytesPerSecond Unit = "Megabytes/Second"
	GigabytesPerSecond Unit = "Gigabytes/Second"
	TerabytesPerSecond Unit = "Terabytes/Second"
	BitsPerSecond      Unit = "Bits/Second"
	KilobitsPerSecond  Unit = "Kilobits/Second"
	MegabitsPerSecond  Unit = "Megabits/Second"
	GigabitsPerSecond  Unit = "Gigabits/Second"
	TerabitsPerSecond  Unit = "Terabits/Second"
	CountPerSecond     Unit = "Count/Second"
	None               Unit = "None"
)

// Units lists every valid unit.
func Units() []Unit {
	return []Unit{
		Seconds, Microseconds, Milliseconds, Bytes, Kilobytes, Megabytes, Gigabytes, Terabytes,
		Bits, Kilobits, Megabits, Gigabits, Terabits, Percent, Count, BytesPerSecond,
		KilobytesPerSecond, MegabytesPerSecond, GigabytesPerSecond, TerabytesPerSecond,
		BitsPerSecond, KilobitsPerSecond, MegabitsPerSecond, GigabitsPerSecond, TerabitsPerSecond,
		CountPerSecond, None,
	}
}

// Limits of the specification and of CloudWatch.
const (
	MaxMetricsPerRecord = 100       // metrics in one record (the specification: in one directive)
	MaxValuesPerMetric  = 100       // numbers in one metric's array
	MaxDimensions       = 30        // dimension keys in one dimension set
	MaxNameLength       = 255       // namespace, metric and dimension names
	MaxValueLength      = 1024      // a dimension value
	MaxLineBytes        = 256 << 10 // one log event (the lower of the limits the documentation has given)
)

// maxMagnitude is the largest magnitude CloudWatch accepts for a metric value (2^360).
var maxMagnitude = math.Ldexp(1, 360)

// Metric declares a metric: its name, its unit, its dimension sets, and whether CloudWatch
// stores it at one-second resolution (StorageResolution 1, a high-resolution custom metric,
// billed as such) rather than the standard minute.
type Metric struct {
	Name string
	Unit Unit
	// Dimensions are the dimension sets the metric is published with, each a list of the
	// catalog's dimension names (at most MaxDimensions); an empty set is the metric without
	// dimensions. None at all means one empty set.
	Dimensions     [][]string
	HighResolution bool
}

// sets is m's dimension sets, each sorted; [[]] when it declares none.
func (m Metric) sets() [][]string {
	if len(m.Dimensions) == 0 {
		return [][]string{{}}
	}
	out := make([][]string, 0, len(m.Dimensions))
	for _, set := range m.Dimensions {
		set = slices.Clone(set)
		if set == nil {
			set = []string{}
		}
		sort.Strings(set)
		out = append(out, set)
	}
	return out
}

// Dimension declares a dimension and the only values it may take. Keep the list short: every
// value is a separate custom metric for each metric emitted with it.
type Dimension struct {
	Name   string
	Values []string
}

// Catalog is everything an Emitter may write: one namespace, its metrics, its dimensions.
type Catalog struct {
	Namespace  string
	Metrics    []Metric
	Dimensions []Dimension
}

// ErrInvalid is wrapped by every error for a catalog or a record that breaks the
// specification or the catalog.
var ErrInvalid = errors.New("invalid metric")

func invalid(format string, args ...any) error {
	return fmt.Errorf("metrics: %w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

var namespacePattern = regexp.MustCompile(`^[A-Za-z0-9._#:/-]+$`)

// Validate checks c against the specification's limits and its own consistency.
func (c Catalog) Validate() error {
	switch {
	case c.Namespace == "" || len(c.Namespace) > MaxNameLength:
		return invalid("namespace %q: want 1 to %d characters", c.Namespace, MaxNameLength)
	case !namespacePattern.MatchString(c.Namespace):
		return invalid("namespace %q: only letters, digits and . _ # : / - are allowed", c.Namespace)
	case strings.HasPrefix(c.Namespace, "AWS/"):
		return invalid("namespace %q: AWS/ is reserved for AWS services", c.Namespace)
	case len(c.Metrics) == 0:
		return invalid("catalog %s declares no metric", c.Namespace)
	}
	names := map[string]string{"_aws": "the metadata member"} // every top-level member has one meaning
	for _, m := range c.Metrics {
		if err := checkName("metric", m.Name); err != nil {
			return err
		}
		if what, ok := names[m.Name]; ok {
			return invalid("metric %q: the name is already %s", m.Name, what)
		}
		names[m.Name] = "a metric"
		if !slices.Contains(Units(), m.Unit) {
			return invalid("metric %q: unit %q is not a CloudWatch unit", m.Name, m.Unit)
		}
	}
	for _, d := range c.Dimensions {
		if err := checkName("dimension", d.Name); err != nil {
			return err
		}
		if strings.HasPrefix(d.Name, ":") {
			return invalid("dimension %q: a name cannot start with ':'", d.Name)
		}
		if what, ok := names[d.Name]; ok {
			return invalid("dimension %q: the name is already %s", d.Name, what)
		}
		names[d.Name] = "a dimension"
		if len(d.Values) == 0 {
			return invalid("dimension %q: no allowed value", d.Name)
		}
		for i, v := range d.Values {
			if v == "" || len(v) > MaxValueLength || !printableASCII(v) || strings.TrimSpace(v) == "" {
				return invalid("dimension %q: value %q: want 1 to %d printable ASCII characters", d.Name, v, MaxValueLength)
			}
			if slices.Contains(d.Values[:i], v) {
				return invalid("dimension %q: value %q listed twice", d.Name, v)
			}
		}
	}
	for _, m := range c.Metrics {
		var seen []string
		for _, set := range m.sets() {
			if len(set) > MaxDimensions {
				return invalid("metric %q: a dimension set holds at most %d dimensions, not %d", m.Name, MaxDimensions, len(set))
			}
			for i, k := range set {
				if names[k] != "a dimension" {
					return invalid("metric %q: dimension %q is not in the catalog", m.Name, k)
				}
				if i > 0 && set[i-1] == k {
					return invalid("metric %q: dimension %q twice in a set", m.Name, k)
				}
			}
			key := strings.Join(set, "\x00")
			if slices.Contains(seen, key) {
				return invalid("metric %q: dimension set %q declared twice", m.Name, set)
			}
			seen = append(seen, key)
		}
	}
	return nil
}

func checkName(what, name string) error {
	if name == "" || len(name) > MaxNameLength || !printableASCII(name) || strings.TrimSpace(name) != name {
		return invalid("%s name %q: want 1 to %d printable ASCII characters, no surrounding spaces", what, name, MaxNameLength)
	}
	return nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
