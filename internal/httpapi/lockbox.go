package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/kaigi/kaigi/internal/chat"
	"github.com/kaigi/kaigi/internal/identity"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/lockbox"
	"github.com/kaigi/kaigi/internal/meeting"
	"github.com/kaigi/kaigi/internal/moderation"
	"github.com/kaigi/kaigi/internal/principal"
)

// Bodies of the lockbox routes.
type (
	// LockboxRequestBody is an operator's request for access.
	LockboxRequestBody struct {
		Tenant        ids.TenantID     `json:"tenant" doc:"The tenant whose resources are asked for."`
		Resources     []string         `json:"resources" doc:"channel:<id>, user_messages:<id>, recording:<id> or tenant_config; 1 to 20."`
		Justification string           `json:"justification" doc:"customer_initiated_support, service_outage, security_incident, data_recovery or legal_request."`
		Reason        string           `json:"reason" doc:"Why, for the tenant's approvers; 1 to 2000 characters."`
		Ticket        string           `json:"ticket" doc:"The support ticket."`
		Duration      lockbox.Duration `json:"duration,omitempty" doc:"How long the access lasts once approved (15m to 8h; default 4h)."`
	}
	// LockboxApprovalBody carries the approver's fresh passkey assertion.
	LockboxApprovalBody struct {
		Proof json.RawMessage `json:"proof" doc:"{kind: passkey, ceremony, credential}: a ceremony from POST /api/v1/auth/passkey/begin answered by one of your passkeys."`
	}
	// OperatorMessages is what an operator reads of a channel under a grant.
	OperatorMessages struct {
		Request  string      `json:"request"`
		Channel  string      `json:"channel"`
		Messages []chat.View `json:"messages"`
	}
)

// OperatorReads reads tenant content for operators; lockbox.Service.Read
// decides whether they may, and records it. Each method checks that what
// it reads belongs to tenant.
type OperatorReads interface {
	// ChannelMessages returns a channel's newest messages, opened.
	ChannelMessages(ctx context.Context, tenant ids.TenantID, channel string, limit int) ([]chat.View, error)
	// UserMessages returns the newest messages a person wrote, opened.
	UserMessages(ctx context.Context, tenant ids.TenantID, user string, limit int) ([]chat.View, error)
	// Recording opens a meeting recording (WebM).
	Recording(ctx context.Context, tenant ids.TenantID, id string) (meeting.Recording, io.ReadCloser, error)
	// TenantConfig returns the tenant's settings.
	TenantConfig(ctx context.Context, tenant ids.TenantID) (TenantConfig, error)
}

// TenantConfig is a tenant's configuration as an operator reads it under a
// grant: its name, domains and policies.
type TenantConfig struct {
	Name       string            `json:"name"`
	Domains    []string          `json:"domains"`
	Policy     identity.Policy   `json:"policy"`
	Moderation moderation.Policy `json:"moderation"`
}

// OperatorUserMessages is what an operator reads of a person's messages.
type OperatorUserMessages struct {
	Request  string      `json:"request"`
	User     string      `json:"user"`
	Messages []chat.View `json:"messages"`
}

// RegisterLockbox registers the lockbox routes: operators file requests,
// use and end their grants, and read under them; a tenant's lockbox
// approvers approve (with a fresh passkey assertion), deny and revoke; the
// tenant's admins, compliance officers and approvers watch.
func RegisterLockbox(s *Server, lb *lockbox.Service, res lockbox.Resources, reads OperatorReads) {
	route := func(method, pattern, summary string, pol principal.Policy, req, resp any, h HandlerFunc) {
		s.Handle(Route{Method: method, Pattern: pattern, Policy: pol, Doc: Doc{Summary: summary, Tag: "lockbox", Request: req, Response: resp}, Handler: h})
	}
	id := func(r *http.Request) string { return r.PathValue("id") }
	approver := principal.HasRole(principal.LockboxApprover)

	route("POST", "/api/v1/operator/lockbox", "File a lockbox request for access to a tenant's resources (audited; the tenant's approvers are told).",
		principal.OperatorOnly, LockboxRequestBody{}, lockbox.Request{},
		JSON(http.StatusCreated, func(r *http.Request, p principal.Principal, b LockboxRequestBody) (lockbox.Request, error) {
			return lb.File(r.Context(), p, lockbox.Request{Tenant: b.Tenant, Resources: b.Resources, Justification: b.Justification,
				Reason: b.Reason, Ticket: b.Ticket, Duration: b.Duration})
		}))
	route("GET", "/api/v1/operator/lockbox", "The operator's own lockbox requests, newest first.",
		principal.OperatorOnly, nil, []lockbox.Request{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]lockbox.Request, error) {
			return lb.Requests(r.Context(), p, 200)
		}))
	route("POST", "/api/v1/operator/lockbox/{id}/activate", "Start using an approved grant (audited; it still ends when it ends).",
		principal.OperatorOnly, nil, lockbox.Request{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (lockbox.Request, error) {
			if _, err := lb.Activate(r.Context(), p, id(r)); err != nil {
				return lockbox.Request{}, err
			}
			return lb.Request(r.Context(), p, id(r))
		}))
	route("POST", "/api/v1/operator/lockbox/{id}/end", "End the operator's own grant early.",
		principal.OperatorOnly, nil, lockbox.Request{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (lockbox.Request, error) {
			return lb.Revoke(r.Context(), p, id(r))
		}))
	route("GET", "/api/v1/operator/lockbox/{id}/channels/{channel}/messages", "Read a channel's newest messages under grant {id}; refused unless the grant is live, the operator's, and names the channel. Every read and refusal is audited and each read is appended to the tenant's transparency log.",
		principal.OperatorOnly, nil, OperatorMessages{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (OperatorMessages, error) {
			channel := r.PathValue("channel")
			limit, err := queryInt(r, "limit", 50)
			if err != nil {
				return OperatorMessages{}, err
			}
			var tenant ids.TenantID
			if ids.Valid(channel) {
				tenant, _ = res.ResourceTenant(r.Context(), lockbox.ResChannel, channel)
			}
			p.Grant = &principal.Grant{ID: id(r)}
			out := OperatorMessages{Request: id(r), Channel: channel}
			err = lb.Read(r.Context(), p, tenant, lockbox.ResChannel+":"+channel, func() (map[string]string, error) {
				msgs, err := reads.ChannelMessages(r.Context(), tenant, channel, int(min(max(limit, 1), 200)))
				if err != nil {
					return nil, err
				}
				out.Messages = msgs
				b, _ := json.Marshal(msgs)
				sum := sha256.Sum256(b)
				return map[string]string{"messages": strconv.Itoa(len(msgs)), "sha256": hex.EncodeToString(sum[:])}, nil
			})
			if err != nil {
				return OperatorMessages{}, err
			}
			return out, nil
		}))

	// readUnder runs one operator read of resource under grant {id}: the
	// resource's tenant is looked up (never taken from the request), then
	// the lockbox decides and records.
	readUnder := func(r *http.Request, p principal.Principal, kind, rid string, read func(tenant ids.TenantID) (map[string]string, error)) error {
		var tenant ids.TenantID
		if ids.Valid(rid) {
			tenant, _ = res.ResourceTenant(r.Context(), kind, rid)
		}
		p.Grant = &principal.Grant{ID: id(r)}
		return lb.Read(r.Context(), p, tenant, kind+":"+rid, func() (map[string]string, error) { return read(tenant) })
	}
	summary := func(v any, n int) map[string]string {
		b, _ := json.Marshal(v)
		sum := sha256.Sum256(b)
		return map[string]string{"items": strconv.Itoa(n), "sha256": hex.EncodeToString(sum[:])}
	}
	route("GET", "/api/v1/operator/lockbox/{id}/users/{user}/messages", "Read the newest messages a person wrote, under grant {id} naming user_messages:{user}; every read and refusal is audited and each read is in the tenant's transparency log.",
		principal.OperatorOnly, nil, OperatorUserMessages{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (OperatorUserMessages, error) {
			user := r.PathValue("user")
			limit, err := queryInt(r, "limit", 50)
			if err != nil {
				return OperatorUserMessages{}, err
			}
			out := OperatorUserMessages{Request: id(r), User: user}
			err = readUnder(r, p, lockbox.ResUserMessages, user, func(tenant ids.TenantID) (map[string]string, error) {
				msgs, err := reads.UserMessages(r.Context(), tenant, user, int(min(max(limit, 1), 200)))
				out.Messages = msgs
				return summary(msgs, len(msgs)), err
			})
			return out, err
		}))
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/operator/lockbox/{id}/recordings/{recording}", Policy: principal.OperatorOnly, Raw: true,
		Doc: Doc{Summary: "Download a meeting recording (WebM) under grant {id} naming recording:{recording}; the read is audited and in the tenant's transparency log before a byte is sent.",
			Tag: "lockbox", ContentType: "video/webm"},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			var rc io.ReadCloser
			var rec meeting.Recording
			err := readUnder(r, p, lockbox.ResRecording, r.PathValue("recording"), func(tenant ids.TenantID) (map[string]string, error) {
				var err error
				rec, rc, err = reads.Recording(r.Context(), tenant, r.PathValue("recording"))
				return map[string]string{"recording": rec.ID, "bytes": strconv.FormatInt(rec.Bytes, 10)}, err
			})
			if err != nil {
				if rc != nil {
					rc.Close()
				}
				return err
			}
			defer rc.Close()
			w.Header().Set("Content-Type", "video/webm")
			w.Header().Set("Content-Disposition", `attachment; filename="recording-`+rec.ID+`.webm"`)
			w.Header().Set("X-Content-Type-Options", "nosniff")
			_, _ = io.Copy(w, rc)
			return nil
		}})
	route("GET", "/api/v1/operator/lockbox/{id}/tenant-config", "Read the tenant's configuration (name, domains, policies) under grant {id} naming tenant_config; audited and in the tenant's transparency log.",
		principal.OperatorOnly, nil, TenantConfig{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (TenantConfig, error) {
			var out TenantConfig
			// The tenant is the grant's own (tenant_config names no id);
			// an unknown or foreign grant leaves it empty and is refused
			// and audited by Read.
			req, _ := lb.Request(r.Context(), p, id(r))
			p.Grant = &principal.Grant{ID: id(r)}
			err := lb.Read(r.Context(), p, req.Tenant, lockbox.ResTenantConfig, func() (map[string]string, error) {
				var err error
				out, err = reads.TenantConfig(r.Context(), req.Tenant)
				return summary(out, 1), err
			})
			return out, err
		}))

	watchers := principal.Policy{Name: "role lockbox_approver, tenant_admin or compliance_officer", Allow: func(p principal.Principal) error {
		if p.Has(principal.LockboxApprover) || p.Has(principal.TenantAdmin) {
			return nil
		}
		return principal.HasRole(principal.ComplianceOfficer).Allow(p)
	}}
	route("GET", "/api/v1/lockbox/requests", "The tenant's lockbox requests, newest first: pending ones to decide, grants, and their accesses.",
		watchers, nil, []lockbox.Request{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]lockbox.Request, error) {
			return lb.Requests(r.Context(), p, 200)
		}))
	route("POST", "/api/v1/lockbox/requests/{id}/approve", "Approve a pending request with a fresh passkey assertion; the grant starts now for the requested duration (audited and logged).",
		approver, LockboxApprovalBody{}, lockbox.Request{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, b LockboxApprovalBody) (lockbox.Request, error) {
			return lb.Approve(r.Context(), p, id(r), b.Proof)
		}))
	route("POST", "/api/v1/lockbox/requests/{id}/deny", "Deny a pending request (audited and logged).",
		approver, nil, lockbox.Request{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (lockbox.Request, error) {
			return lb.Deny(r.Context(), p, id(r))
		}))
	route("POST", "/api/v1/lockbox/requests/{id}/revoke", "Revoke an approved or active grant at once (audited and logged).",
		approver, nil, lockbox.Request{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (lockbox.Request, error) {
			return lb.Revoke(r.Context(), p, id(r))
		}))
}
