package app_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/provider"
)

// TestLegalRequestReadWithDetails: an operator reads one request with its
// sealed details opened (the agency, contact, accounts named and summary
// entered at intake); a tenant admin is refused; an unknown or malformed id
// is a 404; the read is in the operator's own audit log with the request's
// id and nothing of the details, and not in the customer's log.
func TestLegalRequestReadWithDetails(t *testing.T) {
	w, _ := passkeyAdmin(t)
	op := setUpOperator(t, w.s)
	details := provider.Details{Agency: "Osaka Prefectural Police", Contact: "cyber-unit@police.example",
		Accounts: []string{"whistle.blower@acme.example", "admin@acme.example"}, Summary: "Records of a chat channel."}
	var lr provider.LegalRequest
	r := op.do("POST", "/api/v1/operator/legal-requests", map[string]any{"country": "JP", "instrument": "warrant", "compulsory": true,
		"customer_type": "enterprise", "tenant": w.tenant.ID, "asked": []string{"non_content"}, "details": details})
	if r.status != 201 {
		t.Fatalf("enter: %d %s", r.status, r.body)
	}
	r.json(t, &lr)

	var v provider.LegalRequestView
	r = op.do("GET", "/api/v1/operator/legal-requests/"+lr.ID, nil)
	if r.status != 200 {
		t.Fatalf("read: %d %s", r.status, r.body)
	}
	r.json(t, &v)
	if v.ID != lr.ID || v.Status != provider.StatusReceived || v.Accounts != 2 || v.Tenant != w.tenant.ID {
		t.Fatalf("the request read is not the one entered: %+v", v.LegalRequest)
	}
	if v.Details.Agency != details.Agency || v.Details.Contact != details.Contact || v.Details.Summary != details.Summary ||
		!slices.Equal(v.Details.Accounts, details.Accounts) {
		t.Fatalf("details read %+v, entered %+v", v.Details, details)
	}

	// Operators only: the customer's own admin never reads it.
	if r := w.admin.do("GET", "/api/v1/operator/legal-requests/"+lr.ID, nil); r.status != 403 {
		t.Fatalf("a tenant admin read a legal request: %d %s", r.status, r.body)
	}
	for _, id := range []string{ids.New(), "not-an-id", "%00"} {
		if r := op.do("GET", "/api/v1/operator/legal-requests/"+id, nil); r.status != 404 {
			t.Errorf("request %q: %d %s, want 404", id, r.status, r.body)
		}
	}

	// The read is in the operator's log: the request's id, no details.
	reads := slices.DeleteFunc(auditActions(t, w.s, ids.ServiceTenant), func(r audit.Record) bool { return r.Action != "legal.request.read" })
	if len(reads) != 1 || reads[0].Target != "legal-request:"+lr.ID || reads[0].ActorKind != "operator" || reads[0].Result != audit.Success {
		t.Fatalf("the operator's log holds %+v, want one successful read of %s by the operator", reads, lr.ID)
	}
	for _, secret := range []string{"Osaka", "police.example", "whistle.blower", "chat channel"} {
		if strings.Contains(reads[0].Details, secret) || strings.Contains(reads[0].Target, secret) {
			t.Fatalf("the audit record carries the details: %+v", reads[0])
		}
	}
	if hasAudit(auditActions(t, w.s, w.tenant.ID), "legal.request.read", "") {
		t.Fatal("the read is in the customer's audit log")
	}
}
