package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// follow prints each row once and resumes from the saved position.
func TestFollowResumesFromTheSavedPosition(t *testing.T) {
	pages := map[string]string{
		"":   `{"Items":[{"case-id":"WI0000000001","version-num":"1"},{"case-id":"WI0000000002","version-num":"1"}],"next-token":"t2"}`,
		"t2": `{"Items":[{"case-id":"WI0000000001","version-num":"2"}],"next-token":"t3"}`,
		"t3": `{"Items":[],"next-token":"t3"}`,
	}
	var auth []string
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		page, ok := pages[r.URL.Query().Get("after")]
		if !ok || r.URL.Path != "/v1/case/changes" || r.URL.Query().Get("page-size") != "2" {
			http.Error(w, "unexpected "+r.URL.String(), http.StatusBadRequest)
			return
		}
		w.Write([]byte(page))
	}))
	defer server.Close()

	position := filepath.Join(t.TempDir(), "position")
	o := followOptions{api: server.URL + "/v1/case/", token: "tok", positionFile: position, pageSize: 2, poll: time.Millisecond, once: true}
	var out bytes.Buffer
	require.NoError(t, follow(context.Background(), o, &out))
	require.Equal(t, `{"case-id":"WI0000000001","version-num":"1"}
{"case-id":"WI0000000002","version-num":"1"}
{"case-id":"WI0000000001","version-num":"2"}
`, out.String())
	saved, err := os.ReadFile(position)
	require.NoError(t, err)
	require.Equal(t, "t3\n", string(saved))
	require.Equal(t, "Bearer tok", auth[0])

	out.Reset()
	require.NoError(t, follow(context.Background(), o, &out))
	require.Empty(t, out.String(), "resumed after the last row")

	require.NoError(t, os.WriteFile(position, []byte("gone\n"), 0o600))
	require.ErrorContains(t, follow(context.Background(), o, &out), "400")
}
