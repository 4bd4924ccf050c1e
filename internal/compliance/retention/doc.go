// Package retention keeps and deletes a tenant's content under its
// retention policies and legal holds, following the principles of
// retention of Microsoft Purview:
//
//  1. A legal hold that covers an item keeps it, untouched, with its earlier
//     versions, whatever else applies.
//  2. Otherwise retention wins over deletion: nothing is deleted before the
//     latest end of the retain periods that apply to it.
//  3. Of the deletions that apply, the earliest wins.
//  4. An item its author or a reviewer deleted leaves the conversation at
//     once; its sealed copy stays while a retain period or a hold applies,
//     and goes at the next run after that.
//
// Items are messages (with their versions, reactions, attachments and
// their blobs, the channel events that carry them, the notifications about
// them and the sealed content of moderation alerts about them) and meeting
// recordings (row and blob).
//
// The deletion job (kind retention.delete, one per tenant, daily and on
// demand) walks the tenant's items in batches: each batch is one
// transaction that deletes the rows of every item in it, writes one audit
// record (counts only) and records the blob keys to delete in a pending
// table; the blobs are deleted after the commit and their pending rows
// removed. A job interrupted anywhere resumes from its last checkpoint and
// first finishes the pending blobs, so nothing is ever half-deleted and no
// blob is orphaned. A batch re-checks, in its transaction and under a lock
// shared with hold changes, that the holds did not change since it
// decided; if they did it decides again.
//
// Erasure of a person (kind retention.erase) pseudonymises their identity
// and deletes what they wrote and the recordings they started, except what
// a hold keeps.
package retention
