package profiling_test

import (
	"context"
	"net"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/bank/caseservice/internal/platform/profiling"
)

func TestNoAddressServesNothingAndStopsHeapSampling(t *testing.T) {
	rate := runtime.MemProfileRate
	t.Cleanup(func() { runtime.MemProfileRate = rate })
	profiling.Serve(context.Background(), "", zap.NewNop())
	require.Zero(t, runtime.MemProfileRate)
}

func TestAnAddressServesPprof(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	profiling.Serve(ctx, addr, zap.NewNop())
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		resp, err := http.Get("http://" + addr + "/debug/pprof/heap")
		if !assert.NoError(c, err) {
			return
		}
		resp.Body.Close()
		assert.Equal(c, http.StatusOK, resp.StatusCode)
	}, 5*time.Second, 20*time.Millisecond)
}
