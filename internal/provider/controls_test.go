package provider_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/provider"
)

var testFuncRE = regexp.MustCompile(`(?m)^func (Test[A-Za-z0-9_]*)\(t \*testing\.T\)`)

// TestEveryControlNamesTestsThatExist scans every *_test.go file of the
// repository and checks that each test the compliance mapping names is a
// test function there, that each named document exists, and that every
// framework has controls and no control is listed twice.
func TestEveryControlNamesTestsThatExist(t *testing.T) {
	root := filepath.Join("..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("the repository root is not at %s: %v", root, err)
	}
	tests := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range testFuncRE.FindAllSubmatch(b, -1) {
			tests[string(m[1])] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !tests["TestEveryControlNamesTestsThatExist"] {
		t.Fatalf("the scan missed this very test; found %d tests", len(tests))
	}
	seen := map[string]bool{}
	for _, c := range provider.Controls {
		key := c.Framework + " " + c.ID
		if seen[key] {
			t.Errorf("%s is listed twice", key)
		}
		seen[key] = true
		if !slices.Contains(provider.Frameworks, c.Framework) || c.ID == "" || c.Title == "" || c.Feature == "" || len(c.Tests) == 0 {
			t.Errorf("%s: incomplete: %+v", key, c)
		}
		for _, name := range c.Tests {
			if !tests[name] {
				t.Errorf("%s names %s, which is not a test function in the repository", key, name)
			}
		}
		if c.Docs != "" {
			if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(c.Docs))); err != nil {
				t.Errorf("%s names the document %s: %v", key, c.Docs, err)
			}
		}
	}
	for _, f := range provider.Frameworks {
		if !slices.ContainsFunc(provider.Controls, func(c provider.Control) bool { return c.Framework == f }) {
			t.Errorf("no control of %s", f)
		}
	}
}
