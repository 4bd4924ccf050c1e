// Package compliance is the home of the compliance center's parts, each in a
// package of its own:
//
//   - retention: retention policies (retain, delete, retain then delete),
//     legal holds, the deletion job that removes every trace of an expired
//     item, "why is this kept?", and erasure of a person on request.
//   - discovery: eDiscovery cases, searches, review sets and signed export
//     packages, a person's own data and the whole tenant's export.
//
// The audit log's search, export, streaming and retention are in package
// audit.
package compliance
