package workflows

import (
	"fmt"

	"go.temporal.io/sdk/temporal"

	"github.com/bank/caseservice/casefile"
)

// TaskQueue is the one task queue that case workflows and their activities run on.
const TaskQueue = "customer-cases"

// CaseWorkflowID is the workflow id of the case with the given case id.
func CaseWorkflowID(caseID string) string { return "case-" + caseID }

// Update and query names, as operators see them in the Temporal UI.
const (
	UpdateAwaitRegistration = "await-registration"
	UpdateProgress          = "update-progress"
	UpdateClose             = "close"
	UpdateAddAttachment     = "add-attachment"
	UpdateRemoveAttachment  = "remove-attachment"
	QueryState              = "state"
)

// Search attributes kept current on every case workflow; register them on the
// namespace before starting workflows (make dev and the test harness do).
var (
	CaseStateKey  = temporal.NewSearchAttributeKeyKeyword("CaseState")
	CaseTypeKey   = temporal.NewSearchAttributeKeyKeyword("CaseType")
	CaseClassKey  = temporal.NewSearchAttributeKeyKeyword("CaseClass")
	CustomerIDKey = temporal.NewSearchAttributeKeyKeyword("CustomerId")
	ImportanceKey = temporal.NewSearchAttributeKeyKeyword("Importance")
)

// SearchAttributeKeys lists every key above, for registration.
var SearchAttributeKeys = []temporal.SearchAttributeKey{CaseStateKey, CaseTypeKey, CaseClassKey, CustomerIDKey, ImportanceKey}

// SearchAttributes are the attributes a new case workflow starts with.
func SearchAttributes(c casefile.Case) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		CaseStateKey.ValueSet(string(casefile.StateAccepted)),
		CaseTypeKey.ValueSet(c.Type),
		CaseClassKey.ValueSet(string(c.Class)),
		CustomerIDKey.ValueSet(c.CustomerID),
		ImportanceKey.ValueSet(c.Importance),
	)
}

// Summary is the one line the Temporal UI shows for a case workflow.
func Summary(c casefile.Case) string {
	return fmt.Sprintf("%s %s — customer %s", c.Class, c.ID, c.CustomerID)
}
