package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"

	"github.com/bank/caseservice/casefile"
)

// TaskQueue is the one task queue that case workflows and their activities run on.
const TaskQueue = "customer-cases"

// CaseWorkflowID is the workflow id of the case with the given case id.
func CaseWorkflowID(caseID string) string { return caseWorkflowPrefix + caseID }

// CaseIDOf is the case id of a case workflow's id.
func CaseIDOf(workflowID string) (string, bool) {
	return strings.CutPrefix(workflowID, caseWorkflowPrefix)
}

const caseWorkflowPrefix = "case-"

// Update and query names, as operators see them in the Temporal UI.
const (
	UpdateAwaitRegistration = "await-registration"
	UpdateProgress          = "update-progress"
	UpdateClose             = "close"
	UpdateAddAttachment     = "add-attachment"
	UpdateRemoveAttachment  = "remove-attachment"
	QueryState              = "state"
	// QueryHistory lists the case's latest recorded changes (RecentChanges).
	QueryHistory = "history"
	// Updates for operators in the Temporal UI and CLI: escalate and add-note
	// take an OperatorAction, reschedule-callback an OperatorReschedule.
	UpdateEscalate           = "escalate"
	UpdateAddNote            = "add-note"
	UpdateRescheduleCallback = "reschedule-callback"
)

// Search attributes kept current on every case workflow; register them on the
// namespace before starting workflows (make dev and the test harness do).
var (
	CaseStateKey  = temporal.NewSearchAttributeKeyKeyword("CaseState")
	CaseTypeKey   = temporal.NewSearchAttributeKeyKeyword("CaseType")
	CaseClassKey  = temporal.NewSearchAttributeKeyKeyword("CaseClass")
	CustomerIDKey = temporal.NewSearchAttributeKeyKeyword("CustomerId")
	ImportanceKey = temporal.NewSearchAttributeKeyKeyword("Importance")
	// CaseEscalatedKey is true once a case missed its resolution deadline.
	CaseEscalatedKey = temporal.NewSearchAttributeKeyBool("CaseEscalated")
	// CallbackStatusKey is a callback request's callback status; "Failed" needs an operator.
	CallbackStatusKey = temporal.NewSearchAttributeKeyKeyword("CallbackStatus")
	// CallbackAtKey is when a callback request's callback is due.
	CallbackAtKey = temporal.NewSearchAttributeKeyTime("CallbackAt")
	// ResolutionCodeKey is a resolved or closed case's resolution code, for reporting.
	ResolutionCodeKey = temporal.NewSearchAttributeKeyKeyword("CaseResolutionCode")
	// CaseAssigneeKey is the id of the agent responsible for the case; unset: nobody.
	CaseAssigneeKey = temporal.NewSearchAttributeKeyKeyword("CaseAssignee")
	// CaseQueueKey is the work queue the case sits in.
	CaseQueueKey = temporal.NewSearchAttributeKeyKeyword("CaseQueue")
)

// SearchAttributes are the attributes a new case workflow starts with.
func SearchAttributes(c casefile.Case) temporal.SearchAttributes {
	updates := []temporal.SearchAttributeUpdate{
		CaseStateKey.ValueSet(string(casefile.StateAccepted)),
		CaseTypeKey.ValueSet(c.Type),
		CaseClassKey.ValueSet(string(c.Class)),
		CustomerIDKey.ValueSet(c.CustomerID),
		ImportanceKey.ValueSet(c.Importance),
		CaseEscalatedKey.ValueSet(false),
	}
	if c.CallbackAt != nil {
		updates = append(updates, CallbackStatusKey.ValueSet(string(casefile.CallbackScheduled)), CallbackAtKey.ValueSet(*c.CallbackAt))
	}
	for _, kw := range optionalKeywords(&c) {
		if kw.value != "" {
			updates = append(updates, kw.key.ValueSet(kw.value))
		}
	}
	return temporal.NewSearchAttributes(updates...)
}

// keyword is a search attribute a case may or may not have a value for.
type keyword struct {
	key   temporal.SearchAttributeKeyKeyword
	value string
}

func optionalKeywords(c *casefile.Case) []keyword {
	return []keyword{{ResolutionCodeKey, c.ResolutionCode}, {CaseAssigneeKey, c.AssigneeID}, {CaseQueueKey, c.Queue}}
}

// SearchAttributeKeys lists every search attribute the workflow sets; they
// must be registered on the namespace.
var SearchAttributeKeys = []temporal.SearchAttributeKey{
	CaseStateKey, CaseTypeKey, CaseClassKey, CustomerIDKey, ImportanceKey,
	CaseEscalatedKey, CallbackStatusKey, CallbackAtKey, ResolutionCodeKey,
	CaseAssigneeKey, CaseQueueKey,
}

// SearchAttributeDefinitions renders each key as NAME=TYPE, the form of the
// Temporal CLI's --search-attribute flag.
func SearchAttributeDefinitions() []string {
	out := make([]string, len(SearchAttributeKeys))
	for i, k := range SearchAttributeKeys {
		out[i] = k.GetName() + "=" + k.GetValueType().String()
	}
	return out
}

// Summary is the one line the Temporal UI shows for a case workflow.
func Summary(c casefile.Case) string {
	return fmt.Sprintf("%s %s — customer %s", c.Class, c.ID, c.CustomerID)
}
