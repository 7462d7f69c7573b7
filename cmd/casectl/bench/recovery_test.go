package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func secondsOf(first int64, counts ...[2]int) []second {
	var seconds []second
	for i, c := range counts {
		seconds = append(seconds, second{Unix: first + int64(i), OK: c[0], Failed: c[1]})
	}
	return seconds
}

func TestRecoveryIsTheFirstSteadySecondAfterAFault(t *testing.T) {
	steady := [2]int{10, 0}
	seconds := secondsOf(100,
		steady, steady, steady, steady, // 100-103
		[2]int{0, 4}, [2]int{2, 3}, [2]int{6, 0}, [2]int{8, 1}, // 104-107: failing, then a slow second that still fails
		steady, steady, steady, steady, // 108-111
		[2]int{10, 0}, [2]int{3, 0}, [2]int{3, 0}, [2]int{3, 0}, // 112-115: fast in the fault's second, then slow without failures: never recovered
	)
	got := recoveriesFrom(seconds, []fault{{104, "kill -9 api"}, {112, "restart postgres"}}, 4)
	require.Len(t, got, 2)

	kill := got[0]
	require.Equal(t, "kill -9 api", kill.Fault)
	require.EqualValues(t, 4, kill.At)
	require.Equal(t, 8, kill.FailedAttempts)
	require.InDelta(t, 10, kill.Before, 0.01)
	require.NotNil(t, kill.RecoveredAfter)
	require.EqualValues(t, 4, *kill.RecoveredAfter, "106 is fast enough but 107 fails")
	require.InDelta(t, 10, *kill.After, 0.01)

	restart := got[1]
	require.EqualValues(t, 0, restart.FailedAttempts)
	require.Nil(t, restart.RecoveredAfter, "a third of the throughput is not recovered")
}

func TestFaultsFileIsReadInOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "faults")
	require.NoError(t, os.WriteFile(path, []byte("100 kill -9 temporal-history-1\n105 restart postgres\n"), 0o600))
	faults, err := loadFaults(path)
	require.NoError(t, err)
	require.Equal(t, []fault{{100, "kill -9 temporal-history-1"}, {105, "restart postgres"}}, faults)

	require.NoError(t, os.WriteFile(path, []byte("105 b\n100 a\n"), 0o600))
	_, err = loadFaults(path)
	require.ErrorContains(t, err, ":2:")
}

// Requests take turns over the APIs given, and a retry goes to the next
// one, so that one API down costs an attempt, not the request.
func TestRetriesMoveToTheNextAPI(t *testing.T) {
	var down, up atomic.Int64
	dead := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		down.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer dead.Close()
	alive := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		up.Add(1)
		w.WriteHeader(http.StatusOK)
	}))
	defer alive.Close()

	m, err := parseMix("get=1")
	require.NoError(t, err)
	l := newAPILoad(loadOptions{apiURL: dead.URL + "/v1/case, " + alive.URL + "/v1/case/", timeout: 5 * time.Second, retries: 3, plan: Plan{Concurrency: 2}}, m, []string{"t"})
	require.Equal(t, []string{dead.URL + "/v1/case", alive.URL + "/v1/case"}, l.bases)
	for seq := range 4 {
		_, o := l.send(context.Background(), seq, http.MethodGet, "/cases", "t", "", nil)
		require.NoError(t, o.Err)
	}
	require.EqualValues(t, 2, down.Load(), "the two requests that started on the dead API")
	require.EqualValues(t, 4, up.Load())

	path := filepath.Join(t.TempDir(), "timeline")
	require.NoError(t, l.timeline.save(path))
	seconds, err := loadTimeline(path)
	require.NoError(t, err)
	var ok, failed int
	for _, s := range seconds {
		ok, failed = ok+s.OK, failed+s.Failed
	}
	require.Equal(t, [2]int{4, 2}, [2]int{ok, failed})
	raw, _ := os.ReadFile(path)
	require.True(t, strings.HasPrefix(string(raw), `{"second":`))
}
