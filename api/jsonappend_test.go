package api

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/store"
)

// FuzzViewsEncodeAsEncodingJSON holds the appenders to encoding/json's
// bytes for the same views: any text in any field, set or empty, and any
// time.
func FuzzViewsEncodeAsEncodingJSON(f *testing.F) {
	f.Add("WI0000000001", "Ана <b>&</b> \"quoted\" \\ \u2028\u2029", "\x00\x01\b\f\n\r\t\x1f\x7f", "\xff\xfe broken \xc3", int64(1772441999123456789))
	f.Add("", "", "", "", int64(0))
	f.Add("ASCII only", "emoji 😀 and é", "tab\there", "</script>", int64(-62135596800000000))
	f.Fuzz(func(t *testing.T, a, b, c, d string, nanos int64) {
		at := time.Unix(0, nanos)
		one := casefile.Case{
			ID: a, Class: casefile.Class(b), Type: c, RegisteredByID: d, RegisteredByName: a, UpdatedByID: b,
			UpdatedByName: c, CustomerID: d, CustomerName: a, CustomerIdentNum: b, RegisteredAt: at,
			State: casefile.State(c), Resolution: d, Importance: a, Details: b, ArrangementNum: c,
			CommReason: d, CommReplyAddress: a, CommReplyAddressCode: b, CommType: c, RelCaseID: d,
			CallbackAt: &at, Categorry: a, CallbackStatus: casefile.CallbackStatus(b), Escalated: len(c)%2 == 0,
			ResolveBy: &at, Version: nanos, UpdatedAt: at.Add(time.Second), ResolutionCode: d,
			AssigneeID: a, AssigneeName: b, Queue: c,
			Attachments: []casefile.Attachment{{FileID: a, FileName: b, CustomerID: c, AddedAt: at}, {FileID: d}},
		}
		empty := casefile.Case{ID: a, RegisteredAt: at, UpdatedAt: at}
		cases := []caseView{viewOfCase(&one, forAgent), viewOfCase(&empty, forCustomer)}
		history := []historyView{
			viewOfHistory(&casefile.HistoryEntry{Case: one, Change: casefile.Change(d), Note: c}, forAgent),
			viewOfHistory(&casefile.HistoryEntry{Case: empty}, forCustomer),
		}
		same(t, cases[0])
		same(t, cases[1])
		same(t, history[0])
		same(t, newPageView(cases, nanos, store.Page{Number: 2, Size: 20}, &c))
		same(t, newPageView(history, 0, store.Page{Number: 1, Size: 100}, nil))
		same(t, newPageView([]caseRef{{&one, forAgent}, {&empty, forCustomer}}, nanos, store.Page{Number: 2, Size: 20}, &c))
		same(t, newPageView([]caseRef{}, 0, store.Page{Number: 1, Size: 20}, nil))
		same(t, newPageView([]caseView{}, 0, store.Page{Number: 1, Size: 20}, nil))
		same(t, pageView[caseView]{})
	})
}

func same(t *testing.T, v jsonAppender) {
	t.Helper()
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if got := v.appendJSON(nil); string(got) != string(want) {
		t.Fatalf("appendJSON\n got %s\nwant %s", got, want)
	}
}
