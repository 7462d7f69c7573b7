// Package routing puts each new case in a work queue, so that no case is
// registered without a team that owns it.
package routing

import (
	"fmt"
	"slices"
	"strings"

	"github.com/bank/caseservice/casefile"
)

// Rules route new cases: the first rule whose conditions all hold gives the
// queue, and a case no rule matches goes to Default.
type Rules struct {
	rules   []rule
	Default string
}

// rule is one line of the routing spec: field=value conditions and a queue.
type rule struct {
	conditions []condition
	queue      string
}

type condition struct {
	field  string
	values []string
}

// Fields a rule may test, as the API names them.
var fields = []string{"case-class", "case-type", "categorry", "importance"}

// DefaultSpec and DefaultQueue route unless CASE_ROUTING and
// CASE_DEFAULT_QUEUE say otherwise: urgent complaints to their own queue,
// other complaints and callbacks to theirs, everything else to the service desk.
const (
	DefaultSpec  = "case-class=Complaint importance=High|Critical -> complaints-urgent; case-class=Complaint -> complaints; case-class=CallbackRequest -> callbacks"
	DefaultQueue = "service-desk"
)

// Parse reads a routing spec: rules separated by ';', each
// "field=value[|value...] [field=value...] -> queue", tested in order. An
// empty spec routes everything to defaultQueue.
func Parse(spec, defaultQueue string) (Rules, error) {
	if !casefile.ValidQueue(defaultQueue) {
		return Rules{}, fmt.Errorf("default queue %q: %s", defaultQueue, queueRule)
	}
	out := Rules{Default: defaultQueue}
	for i, line := range strings.Split(spec, ";") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		r, err := parseRule(line)
		if err != nil {
			return Rules{}, fmt.Errorf("rule %d %q: %w", i+1, line, err)
		}
		out.rules = append(out.rules, r)
	}
	return out, nil
}

const queueRule = "a queue is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit"

func parseRule(line string) (rule, error) {
	match, queue, ok := strings.Cut(line, "->")
	queue = strings.TrimSpace(queue)
	if !ok {
		return rule{}, fmt.Errorf(`want "field=value ... -> queue"`)
	}
	if !casefile.ValidQueue(queue) {
		return rule{}, fmt.Errorf("queue %q: %s", queue, queueRule)
	}
	r := rule{queue: queue}
	for _, term := range strings.Fields(match) {
		field, values, ok := strings.Cut(term, "=")
		if !ok || values == "" {
			return rule{}, fmt.Errorf("%q: want field=value", term)
		}
		if !slices.Contains(fields, field) {
			return rule{}, fmt.Errorf("%q: the fields are %s", field, strings.Join(fields, ", "))
		}
		r.conditions = append(r.conditions, condition{field: field, values: strings.Split(values, "|")})
	}
	if len(r.conditions) == 0 {
		return rule{}, fmt.Errorf("no condition; cases no rule matches go to the default queue")
	}
	return r, nil
}

// QueueFor is the queue a new case goes to.
func (rs Rules) QueueFor(c *casefile.Case) string {
	for _, r := range rs.rules {
		if r.matches(c) {
			return r.queue
		}
	}
	return rs.Default
}

func (r rule) matches(c *casefile.Case) bool {
	for _, cond := range r.conditions {
		if !slices.Contains(cond.values, fieldOf(c, cond.field)) {
			return false
		}
	}
	return true
}

func fieldOf(c *casefile.Case, field string) string {
	switch field {
	case "case-class":
		return string(c.Class)
	case "case-type":
		return c.Type
	case "categorry":
		return c.Categorry
	default: // importance; Parse admits no other
		return c.Importance
	}
}
