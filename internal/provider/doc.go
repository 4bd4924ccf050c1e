// Package provider holds what the provider of a Kaigi deployment promises in
// its contract, made into software whose published figures come from the
// real records: the law-enforcement request ledger and the transparency
// report computed from it, the subprocessor registry with its notice
// periods and feeds, and the read models of the public Trust Center.
package provider
