package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// chromium finds Debian's Chromium; .ci/run installs it.
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("chromium is not installed; .ci/run installs it")
		}
		t.Skip("chromium is not installed (apt-get install chromium)")
	}
	return path
}

// browser starts headless Chromium for one test, for at most timeout.
func browser(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	// Not t.TempDir: Chromium may still write its profile for a moment after
	// it is told to stop, and a failed removal would fail the test.
	profile, err := os.MkdirTemp("", "e2e-chromium-")
	require.NoError(t, err)
	t.Cleanup(func() { _ = os.RemoveAll(profile) }) // best effort, after the browser is gone
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 2000),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(cancelTimeout)
	return ctx
}

// TestSwaggerUIInARealBrowser loads the docs page in headless Chromium,
// checks that it lists every operation, authorizes with a dev token and runs
// "Try it out" on GET /cases. The screenshot is kept in .artifacts/.
func TestSwaggerUIInARealBrowser(t *testing.T) {
	s := startStack(t, stackOptions{})
	status, _ := s.call(t, "POST", "/complaints", map[string]any{"customer-id": "C1"})
	require.Equal(t, 201, status)

	ctx := browser(t, 90*time.Second)

	var operations []string
	var responseStatus string
	var screenshot []byte
	op := `[id$="-listCases"]`
	err := chromedp.Run(ctx,
		chromedp.Navigate(s.baseURL+"/docs/"),
		chromedp.WaitVisible(`.opblock`, chromedp.ByQuery),
		chromedp.Evaluate(`Array.from(document.querySelectorAll('.opblock')).map(e =>
			e.querySelector('.opblock-summary-method').innerText + ' ' + e.querySelector('.opblock-summary-path').innerText.replace(/\u200b/g, ''))`, &operations),
		chromedp.Click(`.btn.authorize`, chromedp.ByQuery),
		chromedp.WaitVisible(`.auth-container input`, chromedp.ByQuery),
		chromedp.SendKeys(`.auth-container input`, s.token, chromedp.ByQuery),
		chromedp.Click(`.auth-btn-wrapper .authorize`, chromedp.ByQuery),
		chromedp.Click(`.btn-done`, chromedp.ByQuery),
		chromedp.Click(op+` .opblock-summary`, chromedp.ByQuery),
		chromedp.WaitVisible(op+` .try-out__btn`, chromedp.ByQuery),
		chromedp.Click(op+` .try-out__btn`, chromedp.ByQuery),
		chromedp.Click(op+` .execute`, chromedp.ByQuery),
		chromedp.WaitVisible(op+` .live-responses-table tbody .response-col_status`, chromedp.ByQuery),
		chromedp.Text(op+` .live-responses-table tbody .response-col_status`, &responseStatus, chromedp.ByQuery),
		chromedp.FullScreenshot(&screenshot, 100),
	)
	if len(screenshot) > 0 || err != nil {
		keepScreenshot(t, "swagger-ui.png", screenshot)
	}
	require.NoError(t, err)
	require.ElementsMatch(t, []string{
		"GET /cases", "GET /cases/{case-id}", "PUT /cases/{case-id}", "DELETE /cases/{case-id}",
		"GET /cases/{case-id}/history", "POST /cases/{case-id}/attachments", "POST /cases/{case-id}/notes", "GET /changes",
		"DELETE /cases/{case-id}/attachments/{file-id}", "POST /complaints", "POST /service-requests",
		"POST /callback-requests",
	}, operations)
	require.Equal(t, "200", strings.TrimSpace(responseStatus))
}

func keepScreenshot(t *testing.T, name string, png []byte) {
	dir := filepath.Join("..", ".artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("keep screenshot: %v", err)
		return
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Logf("keep screenshot: %v", err)
		return
	}
	t.Logf("screenshot: %s", path)
}
