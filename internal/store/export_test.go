package store

// Rebind is exported for tests.
var Rebind = rebind
