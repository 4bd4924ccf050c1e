package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/browsertest"
)

// TestBrowserLoadsTheShellFromANode loads the web shell from a whole node —
// with the node's own security headers — in Chromium, and follows the
// first-operator setup link that start-up prints.
func TestBrowserLoadsTheShellFromANode(t *testing.T) {
	s := apptest.Start(t, apptest.Options{})
	b := browsertest.New(t)
	page := b.NewPage(t)

	page.Navigate(t, s.URL+"/signin")
	waitText(t, page, "h1", "Sign in")
	if n := browsertest.Eval[int](t, page, `document.querySelectorAll("nav a").length`); n < 6 {
		t.Fatalf("the navigation has %d links", n)
	}
	page.ExpectNoConsoleErrors(t)

	link, _, err := s.NewSetupLink(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(link, s.Config.URL())
	page.Navigate(t, s.URL+path)
	status := waitText(t, page, "#setup-status", "valid until")
	if strings.Contains(status, "not valid") {
		t.Fatalf("a fresh link was refused: %q", status)
	}
	page.ExpectNoConsoleErrors(t)

	page.Navigate(t, s.URL+"/setup#token=forged-token")
	waitText(t, page, "#setup-status", "not valid")
	page.ClearConsole() // the refused check is a 403 the browser logs
}

// waitText waits until the element's text contains want and returns it.
func waitText(t *testing.T, page *browsertest.Page, selector, want string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	var got string
	for ctx.Err() == nil {
		got = browsertest.Eval[string](t, page, `(document.querySelector(`+"`"+selector+"`"+`) || {}).textContent || ""`)
		if strings.Contains(got, want) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s says %q, want it to contain %q", selector, got, want)
	return ""
}
