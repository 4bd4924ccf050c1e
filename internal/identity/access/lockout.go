package access

import (
	"strconv"
	"strings"

	"github.com/kaigi/kaigi/internal/errs"
)

// LockoutCheck tells whether policies, as they would stand once saved, keep
// admin from signing in as they are now: from admin.Addr, with
// admin.Client, holding admin.Satisfied. Set Satisfied to the factors the
// admin can present (those enrolled), not only those of the current
// session: a required factor the admin cannot present locks them out too.
//
// It returns nil when the admin would be allowed; otherwise an error
// wrapping ErrLockout (code Conflict) whose message names the policies
// responsible, and the service saves the policies only after the admin
// confirms. An admin Input that cannot be evaluated returns its
// ErrBadInput error. Call Evaluate with the same arguments for the whole
// trace.
//
// To check enabling a report-only or disabled policy, pass the set with that
// policy's State changed to Enabled.
func LockoutCheck(policies []Policy, locations []NamedLocation, admin Input) error {
	d := Evaluate(policies, locations, admin)
	if d.Err != nil {
		return d.Err
	}
	if d.Outcome == Allow {
		return nil
	}
	var names []string
	for _, r := range d.Trace {
		if r.Status != StatusApplied || r.Effect == nil {
			continue
		}
		switch d.Outcome {
		case Block:
			if r.Effect.Block {
				names = append(names, strconv.Quote(r.PolicyName))
			}
		default:
			if r.Effect.Require == d.Require && !r.Effect.Satisfied {
				names = append(names, strconv.Quote(r.PolicyName))
			}
		}
	}
	var who string
	switch len(names) {
	case 0: // not reached: a policy caused the outcome
		who = "policies"
	case 1:
		who = "policy " + names[0]
	default:
		who = "policies " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
	}
	var what string
	switch d.Outcome {
	case Block:
		what = "would block your sign-in"
	case NeedsPasskey:
		what = "would require a passkey, which you have not set up"
	default:
		what = "would require a second factor, which you have not set up"
	}
	return errs.Wrap(errs.Conflict, ErrLockout,
		"These policies would lock you out: from your current address %s, the %s %s. Confirm to save them anyway, or exclude yourself or your location first.",
		canonical(admin.Addr), who, what)
}
