// Package access is Kaigi's conditional access: tenant-defined policies that
// decide, at sign-in and whenever a session or token is used from a new
// address, whether an access is allowed, needs a stronger factor, or is
// blocked. It is modelled on Microsoft Entra conditional access.
//
// The package is a pure policy engine: no database, no HTTP, no clock. The
// identity service stores each tenant's [Policy] and [NamedLocation] values
// as JSON, checks them with [ValidateSet] before saving, and calls
// [Evaluate] with an [Input] describing the access. It writes the
// [Decision]'s trace to the sign-in log.
//
// # Policies
//
// A policy has [Conditions] and [Controls]. It applies to an access when
// every condition it gives matches; a condition it leaves out matches
// everything:
//
//   - Users ([UserCondition]): included by id or by role, and not excluded
//     by id or by role. Roles are those of package principal plus the
//     pseudo-roles [AllUsers], [AllMembers] and [AllGuests]. Only members
//     hold roles. Exclusions win.
//   - Locations ([LocationCondition]): the client's address is in an
//     included named location and in no excluded one. [AnyLocation] includes
//     every address; [AllTrusted] stands for every location marked trusted.
//     IPv4 and IPv6 ranges may be mixed; an IPv4-mapped IPv6 address is
//     matched as IPv4. Exclusions win.
//   - Client kinds: the access comes from one of the listed kinds of
//     client ([ClientKind]: [Browser], [APIToken]).
//
// A policy is [Enabled] (evaluated and enforced), [ReportOnly] (evaluated
// and traced, not enforced, as in Entra) or [Disabled] (not evaluated).
//
// # Combining controls
//
// The controls of every enforced policy that applies combine: [Controls.Block]
// wins over everything; otherwise the strongest factor required wins (a
// passkey over any second factor) and the shortest session lifetime wins.
// The access is allowed when its [Factors] already meet the requirement;
// otherwise the [Outcome] is [NeedsMFA] or [NeedsPasskey] and the service asks
// for the factor and evaluates again. For an API token, which cannot answer a
// prompt, the service treats those outcomes as a refusal unless the token's
// own sign-in presented the factor (its Input.Satisfied).
//
// # Failing closed
//
// Evaluate has no error result and never fails open. An [Input] that fails
// [Input.Validate] (no address, unknown client or principal kind, bad ids)
// yields [Block] with Decision.Err set. A policy in an unknown state is
// enforced. A named location that does not exist contains no address, so
// including it matches nothing and excluding it excludes nothing: deleting a
// location that a "block outside the office" policy excludes blocks
// everyone it covers, which [LockoutCheck] catches for the admin.
//
// # The trace
//
// [Decision.Trace] holds one [Result] per policy, in the order given: its
// [Status] (applied, report-only, not applied, disabled), the structured
// [Reason]s (a [ReasonCode] with the user, role, address or location names
// it is about) and, for a policy that applied, its [Effect]. These fields
// are stable and stored as JSON. [Result.String] renders a sentence:
//
//	"Block outside office" applied: the address 203.0.113.9 is not in the named location "Tokyo office". It blocks access.
//	"MFA for admins" did not apply: the user is excluded by role tenant_admin.
//	"Passkeys for guests" is report-only and would have applied: the user is a guest, and guests are included. It would have required a passkey (not yet satisfied).
//	"Old rule" was not evaluated: the policy is disabled.
//
// A policy that applied has one reason per condition it gives, in the order
// users, locations, client kinds; one that did not apply has the reason of
// the first condition that failed, checked in that order. [Decision.String]
// adds a summary line ("Access needs MFA.") before the sentences.
//
// # What-if and lockout
//
// [WhatIf] evaluates report-only and disabled policies (or those of the
// states chosen) as if enabled, so that an admin can test a policy before
// enabling it; the trace marks them. [LockoutCheck] evaluates a set of
// policies as it would stand once saved against the admin making the change
// and returns an error wrapping [ErrLockout] if they would block the admin or
// demand a factor the admin has not enrolled; the service then asks for an
// explicit confirmation.
//
// # Validation and limits
//
// [Policy.Validate], [NamedLocation.Validate] and [ValidateSet] return errors
// wrapping [ErrInvalid] (errs code Invalid) whose message names the policy
// or location and what is wrong, safe to show to the admin. They refuse
// unknown roles, client kinds and states, malformed or over-broad ranges,
// empty or reserved names, conditions that include nobody or exclude
// everyone, controls that make no sense together (block with anything else,
// both MFA kinds, a session lifetime out of bounds, no control at all), a
// block that would cover every access of the tenant, references to missing
// locations, and more entries than [MaxPolicies], [MaxLocations],
// [MaxRanges], [MaxTotalRanges], [MaxUsers] and the other limits allow.
// These limits bound Evaluate: it scans each named location's ranges at
// most once, and only if some policy has a locations condition.
//
// # JSON
//
// Policies and named locations marshal with encoding/json under stable
// snake_case field names; durations are strings such as "8h". [DecodePolicy]
// and [DecodeNamedLocation] refuse unknown fields, trailing data and more
// than [MaxJSONBytes], then validate.
package access
