package queries

// The statements the store runs itself, to batch them (store/lookups.go),
// kept where they are written: store/queries.sql. Not generated. sqlc also
// emits a method for each, which nothing calls; in queries.sql, `make
// generate` still checks the statements against the schema. Case
// listings are composed from their filters in store/search.go.
const (
	GetCaseSQL       = getCase
	GetCasesSQL      = getCases
	ListCallbacksSQL = listCallbacks
)
