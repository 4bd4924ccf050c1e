package store

import "database/sql"

// Rebind is exported for tests.
var Rebind = rebind

// CachedStatements returns how many prepared statements db keeps.
func CachedStatements(db *DB) int { return db.stmts.len() }

// SQLDB returns db's connection pool.
func SQLDB(db *DB) *sql.DB { return db.sql }
