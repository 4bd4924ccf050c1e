package store

// Rebind is exported for tests.
var Rebind = rebind

// CachedStatements returns how many prepared statements db keeps.
func CachedStatements(db *DB) int { return db.stmts.len() }
