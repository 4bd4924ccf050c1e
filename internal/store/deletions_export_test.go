package store

// PurgeOrder returns the tables PurgeTenant deletes from, in its order,
// each with the key columns it batches by on PostgreSQL.
func PurgeOrder() (tables []string, keys [][]string) {
	for _, st := range purgeOrder {
		tables, keys = append(tables, st.table), append(keys, st.key)
	}
	return tables, keys
}

// KeptTables returns the tables whose rows of a deleted tenant are kept.
func KeptTables() []string {
	var out []string
	for t := range keptTables {
		out = append(out, t)
	}
	return out
}
