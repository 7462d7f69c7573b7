package bench

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseMix(t *testing.T) {
	m, err := parseMix("create=60, update=20,close=0,get=20")
	require.NoError(t, err)
	require.Equal(t, []string{"create", "update", "get"}, m.ops, "zero weights drop out")
	require.Equal(t, 100, m.total)
	require.True(t, m.reads())
	seen := map[string]int{}
	for range 10_000 {
		seen[m.pick()]++
	}
	require.InDelta(t, 6000, seen["create"], 400)
	require.InDelta(t, 2000, seen["get"], 300)
	require.Zero(t, seen["close"])

	for _, bad := range []string{"", "create", "create=-1", "delete=5", "create=1,create=2", "create=0"} {
		_, err := parseMix(bad)
		require.Error(t, err, bad)
	}
}

func TestRatiosCompareLikeOperations(t *testing.T) {
	base := Report{Ops: []OpReport{{Op: "get", Throughput: 1000, P99: 4}, {Op: "list", Throughput: 500, P99: 8}}}
	api := Report{Ops: []OpReport{{Op: "get", Throughput: 500, P99: 6}, {Op: "list", Throughput: 400, P99: 8}}}
	want := map[string]float64{"get-throughput": 0.5, "get-p99": 1.5, "list-throughput": 0.8, "list-p99": 1}
	require.Equal(t, want, ratios("sql", base, api))
	require.Equal(t, want, ratios("http", base, api), "the HTTP baseline serves the same reads")
	require.Empty(t, ratios("temporal", base, api), "no creates to compare")
}

func TestMediansOverRounds(t *testing.T) {
	got := medians([]map[string]float64{{"create-p99": 1.4}, {"create-p99": 0.9}, {"create-p99": 1.1}})
	require.Equal(t, map[string]float64{"create-p99": 1.1}, got)
	require.Nil(t, medians(nil))
}
