package events

import (
	"embed"
	"io/fs"
	"strings"
)

// samplesFS holds one valid sample envelope per type and version: samples/<Type>.v<N>.json.
// Tests, scripts and docs share them.
//
//go:embed samples/*.json
var samplesFS embed.FS

// Sample is the sample envelope of type t and version (a copy); nil if there is none.
func Sample(t Type, version int) []byte {
	b, err := samplesFS.ReadFile("samples/" + schemaKey(t, version) + ".json")
	if err != nil {
		return nil
	}
	return b
}

// Samples returns every sample envelope keyed by "<Type>.v<N>" (e.g. "OrderPlaced.v2").
func Samples() map[string][]byte {
	out := map[string][]byte{}
	names, _ := fs.Glob(samplesFS, "samples/*.json") // the pattern is valid: no error
	for _, name := range names {
		b, err := samplesFS.ReadFile(name)
		if err != nil {
			continue
		}
		out[strings.TrimSuffix(strings.TrimPrefix(name, "samples/"), ".json")] = b
	}
	return out
}
