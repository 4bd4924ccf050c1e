package transparency

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/kaigi/kaigi/internal/audit"
	"github.com/kaigi/kaigi/internal/clock"
	"github.com/kaigi/kaigi/internal/errs"
	"github.com/kaigi/kaigi/internal/ids"
	"github.com/kaigi/kaigi/internal/keys"
	"github.com/kaigi/kaigi/internal/principal"
	"github.com/kaigi/kaigi/internal/webhook"
)

// Hook is a tenant's subscription to its log by signed webhook: every new
// entry is posted, in order, from Next on.
type Hook struct {
	ID           string       `json:"id"`
	Tenant       ids.TenantID `json:"-"`
	URL          string       `json:"url"`
	Next         uint64       `json:"next" doc:"The index of the next entry to deliver."`
	Failures     int          `json:"failures" doc:"Failed attempts since the last delivery."`
	LastError    string       `json:"last_error,omitempty"`
	NextAttempt  time.Time    `json:"next_attempt,omitzero"`
	LastDelivery time.Time    `json:"last_delivery,omitzero"`
	Created      time.Time    `json:"created"`
	CreatedBy    ids.UserID   `json:"created_by"`
	Secret       []byte       `json:"-"` // sealed
}

// HookDelivery is the body of one delivery.
type HookDelivery struct {
	Origin     string `json:"origin"`
	Checkpoint string `json:"checkpoint" doc:"The signed head after these entries."`
	Leaves     []Leaf `json:"leaves"`
}

// HookTx is what a change of subscriptions writes in one transaction.
type HookTx interface {
	audit.Appender
	InsertHook(ctx context.Context, h Hook) error
	DeleteHook(ctx context.Context, tenant ids.TenantID, id string) (bool, error)
}

// HookStore keeps subscriptions.
type HookStore interface {
	UpdateHooks(ctx context.Context, fn func(tx HookTx) error) error
	Hooks(ctx context.Context, tenant ids.TenantID) ([]Hook, error)
	// DueHooks lists subscriptions whose next attempt is due at now and
	// whose log has entries they have not received.
	DueHooks(ctx context.Context, now time.Time) ([]Hook, error)
	// SaveHookProgress records a delivery's outcome.
	SaveHookProgress(ctx context.Context, h Hook) error
}

// HookSealer seals subscription secrets with the tenant's keys.
type HookSealer interface {
	Seal(ctx context.Context, tenant ids.TenantID, aad keys.AAD, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, tenant ids.TenantID, aad keys.AAD, ciphertext []byte) ([]byte, error)
}

// Hooks delivers tenants' logs to their webhooks.
type Hooks struct {
	log     *Log
	store   HookStore
	keys    HookSealer
	audit   *audit.Log
	clock   clock.Clock
	logger  *slog.Logger
	guard   webhook.Guard
	timeout time.Duration
	client  atomic.Pointer[http.Client] // shared by deliveries, so connections are reused
}

// MaxHooks bounds a tenant's subscriptions.
const MaxHooks = 5

// NewHooks returns the deliverer of l's webhooks.
func NewHooks(l *Log, s HookStore, k HookSealer, a *audit.Log, c clock.Clock, logger *slog.Logger) *Hooks {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Hooks{log: l, store: s, keys: k, audit: a, clock: c, logger: logger, timeout: 10 * time.Second}
	h.SetClientTLS(nil)
	return h
}

// SetClientTLS sets the TLS settings deliveries use (nil: the system's
// roots; tests trust their own servers' certificates with it).
func (h *Hooks) SetClientTLS(c *tls.Config) { h.client.Store(h.guard.Client(h.timeout, c)) }

// AllowLoopbackEndpoints lets subscriptions name this machine (tests only).
func (h *Hooks) AllowLoopbackEndpoints(on bool) { h.guard.AllowLoopback(on) }

func hookAAD(id string) keys.AAD { return keys.AAD{Kind: "transparency-hook-secret", ID: id} }

// Subscribe adds a webhook for the principal's tenant from the log's
// current size on (from 0 when fromStart), and returns it with its secret,
// shown this once.
func (h *Hooks) Subscribe(ctx context.Context, p principal.Principal, url string, fromStart bool) (Hook, string, error) {
	if err := h.guard.CheckURL(url); err != nil {
		return Hook{}, "", err
	}
	existing, err := h.store.Hooks(ctx, p.Tenant)
	if err != nil {
		return Hook{}, "", err
	}
	if len(existing) >= MaxHooks {
		return Hook{}, "", errs.E(errs.Conflict, "A tenant has at most %d webhooks for its transparency log; remove one first.", MaxHooks)
	}
	head, err := h.log.Head(ctx, p.Tenant)
	if err != nil {
		return Hook{}, "", err
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	secret := "whsec_" + base64.RawURLEncoding.EncodeToString(raw)
	now := h.clock.Now()
	hk := Hook{ID: ids.New(), Tenant: p.Tenant, URL: url, Next: head.Size, Created: now, CreatedBy: p.User, NextAttempt: now}
	if fromStart {
		hk.Next = 0
	}
	if hk.Secret, err = h.keys.Seal(ctx, p.Tenant, hookAAD(hk.ID), []byte(secret)); err != nil {
		return Hook{}, "", err
	}
	err = h.store.UpdateHooks(ctx, func(tx HookTx) error {
		if err := tx.InsertHook(ctx, hk); err != nil {
			return err
		}
		_, err := h.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "transparency.webhook.create", Target: "transparency-hook:" + hk.ID,
			Details: map[string]string{"from": strconv.FormatUint(hk.Next, 10)}})
		return err
	})
	return hk, secret, err
}

// List returns the tenant's subscriptions.
func (h *Hooks) List(ctx context.Context, p principal.Principal) ([]Hook, error) {
	return h.store.Hooks(ctx, p.Tenant)
}

// Remove ends a subscription of the principal's tenant.
func (h *Hooks) Remove(ctx context.Context, p principal.Principal, id string) error {
	return h.store.UpdateHooks(ctx, func(tx HookTx) error {
		ok, err := tx.DeleteHook(ctx, p.Tenant, id)
		if err != nil {
			return err
		}
		if !ok {
			return errs.E(errs.NotFound, "There is no such webhook.")
		}
		_, err = h.audit.Append(ctx, tx, audit.Entry{Actor: p, Action: "transparency.webhook.remove", Target: "transparency-hook:" + id})
		return err
	})
}

// DeliverAll posts what is due to every subscription.
func (h *Hooks) DeliverAll(ctx context.Context) {
	due, err := h.store.DueHooks(ctx, h.clock.Now())
	if err != nil {
		h.logger.Error("transparency webhooks: list", "err", err)
		return
	}
	for _, hk := range due {
		if _, err := h.Deliver(ctx, hk); err != nil && ctx.Err() == nil {
			h.logger.Warn("transparency webhook delivery failed", "hook", hk.ID, "tenant", string(hk.Tenant), "err", err)
		}
	}
}

// Deliver posts up to 100 new entries to one subscription and records the
// outcome: on success it moves on; on failure it backs off (1 s doubling to
// 5 minutes) and tries again from the same entry.
func (h *Hooks) Deliver(ctx context.Context, hk Hook) (int, error) {
	head, err := h.log.Head(ctx, hk.Tenant)
	if err != nil || hk.Next >= head.Size {
		return 0, err // DueHooks only lists hooks behind their log; a race may still find none new
	}
	leaves, err := h.log.Leaves(ctx, hk.Tenant, hk.Next, 100)
	if err != nil || len(leaves) == 0 {
		return 0, err
	}
	body, err := json.Marshal(HookDelivery{Origin: h.log.Origin(hk.Tenant), Checkpoint: head.Checkpoint, Leaves: leaves})
	if err != nil {
		return 0, err
	}
	err = h.post(ctx, hk, body)
	now := h.clock.Now()
	if err != nil {
		hk.Failures++
		hk.LastError = err.Error()
		hk.NextAttempt = now.Add(min(time.Second<<min(hk.Failures-1, 9), 5*time.Minute))
		return 0, errorsJoin(err, h.store.SaveHookProgress(ctx, hk))
	}
	hk.Next = leaves[len(leaves)-1].Index + 1
	hk.Failures, hk.LastError, hk.LastDelivery, hk.NextAttempt = 0, "", now, now
	return len(leaves), h.store.SaveHookProgress(ctx, hk)
}

func errorsJoin(a, b error) error {
	if b != nil {
		return fmt.Errorf("%w (and saving the outcome: %v)", a, b)
	}
	return a
}

func (h *Hooks) post(ctx context.Context, hk Hook, body []byte) error {
	secret, err := h.keys.Open(ctx, hk.Tenant, hookAAD(hk.ID), hk.Secret)
	if err != nil {
		return err
	}
	if err := h.guard.CheckURL(hk.URL); err != nil {
		return err
	}
	return webhook.Post(ctx, h.client.Load(), hk.URL, "Kaigi-Transparency/1", secret, h.clock.Now(), body)
}

// Run delivers every interval until ctx ends.
func (h *Hooks) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.DeliverAll(ctx)
		}
	}
}
