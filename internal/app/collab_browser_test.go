package app_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kaigi/kaigi/internal/app/apptest"
	"github.com/kaigi/kaigi/internal/browsertest"
	"github.com/kaigi/kaigi/internal/identity"
)

// TestAdminCollaborationPoliciesInBrowser: a tenant admin changes the guest
// switches, turns external access on with an allow list (a bad domain is
// refused with a message first), and sets the meeting defaults, all in the
// admin center; the tenant's policy then says so, and a guest who may no
// longer start chats is refused.
func TestAdminCollaborationPoliciesInBrowser(t *testing.T) {
	w := startRealtimeWorld(t, apptest.Options{})
	b := browsertest.New(t)
	u := openChatAs(t, b, w, w.admin, "/admin/collaboration")
	u.waitUntil("the collaboration section", `!!document.querySelector("#collab-guests") && !!document.querySelector("#collab-meetings")`)

	u.check("#collab-guests", "What guests may do", "Start chats with people of their teams", false)
	u.check("#collab-guests", "What guests may do", "Share their screen in meetings", false)
	u.p.Do(t, chromedp.Click(chromedp.CSS(`#collab-guests button[type=submit]`)))
	u.waitUntil("the guests saved", `document.querySelector("#collab-guests [role=status]").textContent.trim() !== ""`)

	u.check("#collab-external", "External chats", "Allow chats with other organisations", true)
	u.p.Do(t, chromedp.SetValue(chromedp.CSS(`#collab-allow`), "globex.example\nnot a domain"))
	u.p.Do(t, chromedp.Click(chromedp.CSS(`#collab-external button[type=submit]`)))
	u.waitUntil("the bad domain named", `document.querySelector("#collab-allow-error").textContent.includes("not a domain")`)
	if got := u.focused(); got != "#collab-allow" {
		t.Errorf("focus after the refusal on %s, want the domain list", got)
	}
	u.p.Do(t, chromedp.SetValue(chromedp.CSS(`#collab-allow`), "Globex.example"))
	u.p.Do(t, chromedp.Click(chromedp.CSS(`#collab-external button[type=submit]`)))
	u.waitUntil("external saved", `document.querySelector("#collab-external [role=status]").textContent.trim() !== ""`)

	u.check("#collab-meetings", "Who can bypass the lobby", "People who were invited", true)
	u.check("#collab-meetings", "Allow in meetings", "People who are not signed in may ask to join", true)
	u.p.Do(t, chromedp.Click(chromedp.CSS(`#collab-meetings button[type=submit]`)))
	u.waitUntil("meetings saved", `document.querySelector("#collab-meetings [role=status]").textContent.trim() !== ""`)
	u.shotBoth("admin-collaboration")

	var pol identity.Policy
	w.admin.do("GET", "/api/v1/admin/policy", nil).json(t, &pol)
	if pol.Guests.StartChats || pol.Guests.ShareScreen || !pol.Guests.Allowed || !pol.Guests.EditOwnMessages {
		t.Errorf("guest switches: %+v", pol.Guests)
	}
	if !pol.External.Enabled || len(pol.External.Allow) != 1 || pol.External.Allow[0] != "globex.example" {
		t.Errorf("external access: %+v", pol.External)
	}
	if pol.Meetings.LobbyBypass != identity.BypassInvited || !pol.Meetings.AllowAnonymous || pol.Meetings.Admitters != identity.AdmitOrganizers || pol.Meetings.LobbyTimeoutMinutes != 15 {
		t.Errorf("meeting defaults: %+v", pol.Meetings)
	}
	if r := w.guest.do("POST", "/api/v1/chats", map[string]any{"with": []string{string(w.memberID)}}); r.status != 403 {
		t.Errorf("a guest starts a chat after the switch went off: %d %s", r.status, r.body)
	}
}
