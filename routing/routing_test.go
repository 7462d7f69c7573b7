package routing_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/routing"
)

func TestTheFirstMatchingRuleGivesTheQueue(t *testing.T) {
	rules, err := routing.Parse("categorry=Cards|Payments -> cards; case-class=ServiceRequest importance=Critical -> urgent; case-type=Mortgage -> loans", "desk")
	require.NoError(t, err)
	for _, tc := range []struct {
		c    casefile.Case
		want string
	}{
		{casefile.Case{Class: casefile.ClassCallbackRequest, Categorry: "Payments"}, "cards"},
		{casefile.Case{Class: casefile.ClassServiceRequest, Importance: "Critical", Type: "Mortgage"}, "urgent"},
		{casefile.Case{Class: casefile.ClassServiceRequest, Importance: "High", Type: "Mortgage"}, "loans"},
		{casefile.Case{Class: casefile.ClassComplaint, Importance: "Critical"}, "desk"},
	} {
		assert.Equal(t, tc.want, rules.QueueFor(&tc.c), "%+v", tc.c)
	}
}

func TestTheDefaultRulesRouteEveryClass(t *testing.T) {
	rules, err := routing.Parse(routing.DefaultSpec, routing.DefaultQueue)
	require.NoError(t, err)
	assert.Equal(t, "complaints-urgent", rules.QueueFor(&casefile.Case{Class: casefile.ClassComplaint, Importance: "Critical"}))
	assert.Equal(t, "complaints", rules.QueueFor(&casefile.Case{Class: casefile.ClassComplaint, Importance: "Low"}))
	assert.Equal(t, "callbacks", rules.QueueFor(&casefile.Case{Class: casefile.ClassCallbackRequest, Importance: "Standard"}))
	assert.Equal(t, routing.DefaultQueue, rules.QueueFor(&casefile.Case{Class: casefile.ClassServiceRequest, Importance: "Critical"}))
}

func TestBadSpecsAreRefused(t *testing.T) {
	for spec, want := range map[string]string{
		"case-class=Complaint":              `want "field=value ... -> queue"`,
		"colour=red -> q":                   `"colour": the fields are`,
		"case-class -> q":                   "want field=value",
		"-> q":                              "no condition",
		"case-class=Complaint -> bad queue": "a queue is 1 to 64",
	} {
		_, err := routing.Parse(spec, "desk")
		assert.ErrorContains(t, err, want, spec)
	}
	_, err := routing.Parse("", "no spaces allowed")
	assert.ErrorContains(t, err, "default queue")
}
