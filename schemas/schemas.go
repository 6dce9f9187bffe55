// Package schemas embeds the JSON Schemas (draft 2020-12) of the orderflow events: one file
// per event type and version, <Type>.v<N>.schema.json, each with $id
// urn:orderflow:schema:<Type>:v<N>. The envelope and the shared definitions (ids, SKUs,
// money) live in envelope.schema.json ($id urn:orderflow:schema:envelope), which every type
// schema references. Package events compiles and applies them.
package schemas

import "embed"

// FS holds every *.json file of this directory.
//
//go:embed *.json
var FS embed.FS
