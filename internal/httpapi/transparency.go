package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/coder/websocket"

	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/transparency"
)

// Bodies of the access-transparency routes.
type (
	// MerkleProofBody is a Merkle proof: the hashes, base64, in the order RFC 6962
	// (and transparency-dev/merkle's verifiers) expect.
	MerkleProofBody struct {
		Hashes [][]byte `json:"hashes"`
	}
	// CheckpointBody is one signed checkpoint.
	CheckpointBody struct {
		Checkpoint string `json:"checkpoint"`
	}
)

// transparencyReaders are the people of a tenant who watch the operator:
// tenant admins, compliance officers and lockbox approvers.
var transparencyReaders = principal.Policy{Name: "role tenant_admin, compliance_officer or lockbox_approver", Allow: func(p principal.Principal) error {
	for _, r := range []principal.Role{principal.TenantAdmin, principal.ComplianceOfficer, principal.LockboxApprover} {
		if principal.HasRole(r).Allow(p) == nil {
			return nil
		}
	}
	return principal.HasRole(principal.LockboxApprover).Allow(p)
}}

// HookBody subscribes a webhook to the tenant's transparency log.
type HookBody struct {
	URL       string `json:"url" doc:"https:// endpoint that receives each new entry (signed, see docs/lockbox.md)."`
	FromStart bool   `json:"from_start,omitempty" doc:"Deliver the whole log from entry 0 first (default: only what comes next)."`
}

// HookCreated is a new subscription with its secret, shown this once.
type HookCreated struct {
	Hook   transparency.Hook `json:"hook"`
	Secret string            `json:"secret" doc:"The HMAC secret that signs deliveries; shown once, store it now."`
}

// RegisterTransparencyHooks registers the tenant's webhook subscriptions
// to its transparency log.
func RegisterTransparencyHooks(s *Server, h *transparency.Hooks) {
	route := func(method, pattern, summary string, req, resp any, status int, fn HandlerFunc) {
		s.Handle(Route{Method: method, Pattern: pattern, Policy: transparencyReaders, Doc: Doc{Summary: summary, Tag: "transparency", Request: req, Response: resp, Status: status}, Handler: fn})
	}
	route("GET", "/api/v1/transparency/webhooks", "The tenant's webhooks on its transparency log, with their delivery state.", nil, []transparency.Hook{}, 0,
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]transparency.Hook, error) {
			return h.List(r.Context(), p)
		}))
	route("POST", "/api/v1/transparency/webhooks", "Subscribe an https endpoint to every new entry, signed with a secret shown once (audited).", HookBody{}, HookCreated{}, http.StatusCreated,
		JSON(http.StatusCreated, func(r *http.Request, p principal.Principal, b HookBody) (HookCreated, error) {
			hk, secret, err := h.Subscribe(r.Context(), p, b.URL, b.FromStart)
			return HookCreated{Hook: hk, Secret: secret}, err
		}))
	route("DELETE", "/api/v1/transparency/webhooks/{id}", "Remove a webhook (audited).", nil, nil, http.StatusNoContent,
		JSON(http.StatusNoContent, func(r *http.Request, p principal.Principal, _ None) (None, error) {
			return None{}, h.Remove(r.Context(), p, r.PathValue("id"))
		}))
}

// RegisterTransparency registers the routes of the tenant's
// access-transparency log: its signed head and earlier checkpoints, its
// entries, inclusion and consistency proofs, and bundles for offline
// checking with `kaigi transparency verify`. The tenant is the principal's.
func RegisterTransparency(s *Server, l *transparency.Log) {
	registerTransparencyLive(s, l)
	route := func(method, pattern, summary string, resp any, h HandlerFunc) {
		s.Handle(Route{Method: method, Pattern: pattern, Policy: transparencyReaders, Doc: Doc{Summary: summary, Tag: "transparency", Response: resp}, Handler: h})
	}
	u := func(r *http.Request, name string, def int64) (uint64, error) {
		n, err := queryInt(r, name, def)
		return uint64(n), err
	}
	route("GET", "/api/v1/transparency/head", "The access-transparency log's current size, root and signed checkpoint.", transparency.Head{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (transparency.Head, error) {
			return l.Head(r.Context(), p.Tenant)
		}))
	route("GET", "/api/v1/transparency/checkpoints/{size}", "The checkpoint signed when the log had {size} entries.", CheckpointBody{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (CheckpointBody, error) {
			size, err := pathUint(r, "size")
			if err != nil {
				return CheckpointBody{}, err
			}
			cp, err := l.Checkpoint(r.Context(), p.Tenant, size)
			return CheckpointBody{Checkpoint: cp}, err
		}))
	route("GET", "/api/v1/transparency/entries", "Entries of the log from ?from= (default 0), at most ?limit= (default and maximum 1000), with their leaf hashes.", []transparency.Leaf{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) ([]transparency.Leaf, error) {
			from, err := u(r, "from", 0)
			if err != nil {
				return nil, err
			}
			limit, err := queryInt(r, "limit", transparency.MaxLeaves)
			if err != nil {
				return nil, err
			}
			return l.Leaves(r.Context(), p.Tenant, from, int(limit))
		}))
	route("GET", "/api/v1/transparency/proofs/inclusion", "Proof that entry ?index= is in the tree of ?size= entries.", MerkleProofBody{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (MerkleProofBody, error) {
			index, err := u(r, "index", 0)
			if err != nil {
				return MerkleProofBody{}, err
			}
			size, err := u(r, "size", 0)
			if err != nil {
				return MerkleProofBody{}, err
			}
			h, err := l.InclusionProof(r.Context(), p.Tenant, index, size)
			return MerkleProofBody{Hashes: h}, err
		}))
	route("GET", "/api/v1/transparency/proofs/consistency", "Proof that the tree of ?from= entries is a prefix of the tree of ?to= entries.", MerkleProofBody{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (MerkleProofBody, error) {
			from, err := u(r, "from", 0)
			if err != nil {
				return MerkleProofBody{}, err
			}
			to, err := u(r, "to", 0)
			if err != nil {
				return MerkleProofBody{}, err
			}
			h, err := l.ConsistencyProof(r.Context(), p.Tenant, from, to)
			return MerkleProofBody{Hashes: h}, err
		}))
	route("GET", "/api/v1/transparency/bundle", "Everything to check the log offline: the signed checkpoint, the consistency proof from ?since= (the size seen last time) and the entries from ?first= (0 for a full check, or since).", transparency.Bundle{},
		JSON(http.StatusOK, func(r *http.Request, p principal.Principal, _ None) (transparency.Bundle, error) {
			since, err := u(r, "since", 0)
			if err != nil {
				return transparency.Bundle{}, err
			}
			first, err := u(r, "first", 0)
			if err != nil {
				return transparency.Bundle{}, err
			}
			return l.Bundle(r.Context(), p.Tenant, since, first)
		}))
}

// LiveFrame is one frame of the transparency log's live feed.
type LiveFrame struct {
	Type       string             `json:"type" doc:"entry (a new leaf) or head (the signed head after the entries sent)."`
	Leaf       *transparency.Leaf `json:"leaf,omitempty"`
	Checkpoint string             `json:"checkpoint,omitempty"`
	Size       uint64             `json:"size,omitempty"`
}

// Intervals of the live feed.
var (
	livePoll    = time.Second      // how often the head is looked at
	liveRecheck = 30 * time.Second // how often the watcher's credentials are checked again
)

// registerTransparencyLive registers the live feed: a WebSocket that sends
// every entry from ?from= on, then each new one as it is appended, each
// batch followed by the signed head. Whoever watches is checked again every
// 30 seconds; a watcher who lost the right is disconnected.
func registerTransparencyLive(s *Server, l *transparency.Log) {
	s.Handle(Route{Method: http.MethodGet, Pattern: "/api/v1/transparency/live", Policy: transparencyReaders, Raw: true,
		Doc: Doc{Summary: "A WebSocket of the access-transparency log: every entry from ?from= and then each new one live, each batch followed by the signed head.",
			Tag: "transparency", Status: http.StatusSwitchingProtocols, Response: LiveFrame{}, ContentType: "application/json"},
		Handler: func(w http.ResponseWriter, r *http.Request, p principal.Principal) error {
			from, err := queryInt(r, "from", 0)
			if err != nil {
				return err
			}
			if h, err := l.Head(r.Context(), p.Tenant); err != nil {
				return err
			} else if uint64(from) > h.Size {
				return errs.E(errs.Invalid, "The log has %d entries; start at 0 to %d.", h.Size, h.Size)
			}
			ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
			if err != nil {
				return nil // Accept has answered
			}
			defer ws.CloseNow()
			ctx := ws.CloseRead(context.WithoutCancel(r.Context()))
			next, lastHead := uint64(from), ^uint64(0)
			send := func(f LiveFrame) error {
				b, _ := json.Marshal(f)
				wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				return ws.Write(wctx, websocket.MessageText, b)
			}
			poll, recheck := time.NewTicker(livePoll), time.NewTicker(liveRecheck)
			defer poll.Stop()
			defer recheck.Stop()
			for {
				h, err := l.Head(ctx, p.Tenant)
				if err != nil {
					ws.Close(websocket.StatusInternalError, "the log could not be read")
					return nil
				}
				for next < h.Size {
					leaves, err := l.Leaves(ctx, p.Tenant, next, transparency.MaxLeaves)
					if err != nil || len(leaves) == 0 {
						ws.Close(websocket.StatusInternalError, "the log could not be read")
						return nil
					}
					for i := range leaves {
						if err := send(LiveFrame{Type: "entry", Leaf: &leaves[i]}); err != nil {
							return nil
						}
					}
					next = leaves[len(leaves)-1].Index + 1
				}
				if h.Size != lastHead {
					if err := send(LiveFrame{Type: "head", Checkpoint: h.Checkpoint, Size: h.Size}); err != nil {
						return nil
					}
					lastHead = h.Size
				}
				select {
				case <-ctx.Done():
					return nil
				case <-poll.C:
				case <-recheck.C:
					again, err := s.opts.Auth.Authenticate(r)
					if err != nil || again.Tenant != p.Tenant || transparencyReaders.Allow(again) != nil {
						ws.Close(websocket.StatusPolicyViolation, "your session ended or no longer allows watching this log")
						return nil
					}
				}
			}
		}})
}

// pathUint reads a path value that must be a whole number.
func pathUint(r *http.Request, name string) (uint64, error) {
	n, err := strconv.ParseUint(r.PathValue(name), 10, 64)
	if err != nil {
		return 0, errs.E(errs.Invalid, "%s must be a whole number of 0 or more.", name)
	}
	return n, nil
}
