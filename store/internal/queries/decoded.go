package queries

// The statements whose rows the store decodes itself (store/caserows.go),
// kept where they are written: store/queries.sql. Not generated.
const (
	GetCaseSQL           = getCase
	GetCasesSQL          = getCases
	ListCallbacksSQL     = listCallbacks
	ListCasesSQL         = listCases
	ListCustomerCasesSQL = listCustomerCases
)
