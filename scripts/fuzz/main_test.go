package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func write(t *testing.T, root, path, body string) {
	t.Helper()
	p := filepath.Join(root, path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFind(t *testing.T) {
	root := t.TempDir()
	write(t, root, "a/x_test.go", "package a\n\nfunc FuzzB(f *testing.F) {}\nfunc FuzzA(ff *testing.F) {}\nfunc TestC(t *testing.T) {}\nfunc FuzzNot(t *testing.T) {}\n")
	write(t, root, "a/b/y_test.go", "package b\n\nfunc FuzzDeep(f *testing.F) {}\n")
	write(t, root, "a/z.go", "package a\n\nfunc FuzzInProduction(f *testing.F) {}\n")                      // not a test file
	write(t, root, "e2e/t_test.go", "//go:build e2e\n\npackage e2e\n\nfunc FuzzTagged(f *testing.F) {}\n") // needs a tag
	write(t, root, "node_modules/m/m_test.go", "package m\n\nfunc FuzzVendored(f *testing.F) {}\n")
	write(t, root, "a/testdata/fuzz/FuzzA/seed_test.go", "package a\n\nfunc FuzzCorpus(f *testing.F) {}\n")

	got, err := Find(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{{"./a", "FuzzA"}, {"./a", "FuzzB"}, {"./a/b", "FuzzDeep"}}
	if !slices.Equal(got, want) {
		t.Errorf("Find = %v, want %v", got, want)
	}
}

// The module's own targets are found: the fuzz tests issue 10 asks for (the API's parser and
// handler, event parsing, the fold) must stay reachable by make fuzz.
func TestFindsTheModulesTargets(t *testing.T) {
	got, err := Find("../..")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, tg := range got {
		names[tg.Dir+" "+tg.Name] = true
	}
	for _, want := range []string{"./functions/internal/order FuzzParsePlaceOrder", "./functions/internal/order FuzzFold", "./functions/order-api FuzzPlaceOrder", "./events FuzzParseMatchesJSONSchema"} {
		if !names[want] {
			t.Errorf("no %s among %v", want, got)
		}
	}
}
