package app_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/browsertest"
)

// TestEDiscoveryBrowserCaseFlow drives a case through the compliance center
// in Chromium: a compliance officer opens a case, searches a team for a
// word, sees the results, adds them to the review set and exports it,
// watching the progress bar until the download link appears; a person
// downloads their own data from the security settings, and the admin finds
// the organisation's export in the admin center.
func TestEDiscoveryBrowserCaseFlow(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{})
	officer, _ := makeOfficer(t, w, "cora@acme.example")
	send(t, w.member, w.general.ID, "The falcon budget is ready.", "")
	send(t, w.member, w.general.ID, "Lunch?", "")
	send(t, w.admin, w.boardGen.ID, "Board budget: not in the case.", "")
	// Each step of an export waits a little, so that the page shows it running.
	w.s.Discovery.SetAfterStep(func(ctx context.Context, export string, step int) {
		select {
		case <-ctx.Done():
		case <-time.After(400 * time.Millisecond):
		}
	})
	t.Cleanup(func() { w.s.Discovery.SetAfterStep(nil) })

	b := browsertest.New(t)
	u := openChatAs(t, b, w, officer, "/compliance/ediscovery")
	u.waitUntil("the cases", `document.querySelector("#cases-empty")`)
	u.setComposer("#case-name", "Falcon budget")
	u.clickJS("the create button", `document.querySelector("#case-create")`)
	u.waitUntil("the case page", `location.pathname.startsWith("/compliance/ediscovery/") && document.querySelector("#case-title")`)
	if got := u.text("#case-title"); got != "Falcon budget" {
		t.Fatalf("case title %q", got)
	}
	u.setComposer("#search-keywords", "ＢＵＤＧＥＴ")
	u.setComposer("#search-locations", w.team.ID)
	u.clickJS("the search button", `document.querySelector("#search-run")`)
	u.waitUntil("the search done", `document.querySelector('#searches .search-item[data-state="done"] .search-show')`)
	if got := u.text("#searches .search-hits"); !strings.Contains(got, "Found: 1 ") {
		t.Errorf("the search says %q", got)
	}
	u.clickJS("show results", `document.querySelector("#searches .search-show")`)
	u.waitUntil("the results", `document.querySelectorAll("#search-results .result-item").length === 1`)
	if got := u.text("#search-results"); !strings.Contains(got, "The falcon budget is ready.") || strings.Contains(got, "Board") {
		t.Errorf("results: %q", got)
	}
	u.clickJS("add all to the review set", `document.querySelector("#review-add-all")`)
	u.waitUntil("the item marked as in the review set", `document.querySelector("#search-results .result-item .badge")`)
	u.clickJS("show the review set", `document.querySelector("#review-show")`)
	u.waitUntil("the review set", `document.querySelectorAll("#review-set .result-item").length === 1`)
	u.shot("ediscovery-case")

	u.clickJS("export the review set", `document.querySelector("#export-review")`)
	u.waitUntil("the export running with a progress bar", `document.querySelector('#case-exports .export-item[data-state="running"] progress.job-progress')`)
	u.shot("ediscovery-export-running")
	u.waitUntil("the export done", `document.querySelector('#case-exports .export-item[data-state="done"] a.export-download')`)
	href := eval[string](u, `document.querySelector("#case-exports a.export-download").getAttribute("href")`)
	if !strings.HasPrefix(href, "/api/v1/exports/") || !strings.HasSuffix(href, "/package") {
		t.Fatalf("download link %q", href)
	}
	if got := u.text("#case-exports .export-facts"); !strings.Contains(got, "Messages: 1 ") {
		t.Errorf("export facts %q", got)
	}
	// The link downloads a package for this officer.
	if r := officer.do("GET", href, nil); r.status != 200 || len(r.body) < 1024 {
		t.Fatalf("download: %d, %d bytes", r.status, len(r.body))
	}
	u.allLanguages("ediscovery-export-done")

	// A member downloads their own data from the security settings.
	m := openChatAs(t, b, w, w.member, "/settings")
	m.waitUntil("the my-data panel", `document.querySelector("#my-data-start")`)
	m.clickJS("prepare my data", `document.querySelector("#my-data-start")`)
	m.waitUntil("my data ready", `document.querySelector('#my-exports .export-item[data-state="done"] a.export-download')`)

	// The admin starts the organisation's export.
	a := openChatAs(t, b, w, w.admin, "/admin/export")
	a.waitUntil("the tenant export panel", `document.querySelector("#tenant-export-start")`)
	a.clickJS("export everything", `document.querySelector("#tenant-export-start")`)
	a.waitUntil("the tenant export ready", `document.querySelector('#tenant-exports .export-item[data-state="done"] a.export-download')`)
	a.shot("admin-tenant-export")
}
