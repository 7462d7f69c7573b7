package codecserver_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/bank/caseservice/internal/codecserver"
	"github.com/bank/caseservice/internal/platform/auth"
	"github.com/bank/caseservice/internal/platform/devissuer"
	"github.com/bank/caseservice/internal/platform/encryption"
)

const uiOrigin = "https://temporal-ui.bank.example"

type fixture struct {
	server *httptest.Server
	codec  *encryption.Codec
	issuer *devissuer.Issuer
	audit  *observer.ObservedLogs
}

// newCodec is a codec over a fresh one-key ring.
func newCodec(t *testing.T, keyID string) *encryption.Codec {
	t.Helper()
	entry, err := encryption.NewKey(keyID)
	require.NoError(t, err)
	ring, err := encryption.ParseKeyRing(entry)
	require.NoError(t, err)
	codec, err := encryption.New(ring, encryption.Options{})
	require.NoError(t, err)
	return codec
}

func newFixture(t *testing.T, devUI bool, decodesPerMinute int) *fixture {
	t.Helper()
	codec := newCodec(t, "k1")
	issuer, err := devissuer.Load(filepath.Join(t.TempDir(), "key.json"), "test-issuer", "case-api")
	require.NoError(t, err)
	keys, err := issuer.PublicKeys()
	require.NoError(t, err)
	core, audit := observer.New(zapcore.InfoLevel)
	handler := codecserver.New(codecserver.Options{
		Codec:            codec,
		Verifier:         auth.NewVerifier(auth.Options{Keys: auth.StaticKeys{Keys: keys}, Issuer: "test-issuer", Audience: "case-api", Algorithms: auth.DefaultAlgorithms}),
		Namespace:        "cases",
		Origins:          []string{uiOrigin},
		DevUI:            devUI,
		DecodesPerMinute: decodesPerMinute,
		Audit:            zap.New(core),
		Logger:           zap.NewNop(),
	})
	server := httptest.NewServer(handler)
	t.Cleanup(server.Close)
	return &fixture{server: server, codec: codec, issuer: issuer, audit: audit}
}

func (f *fixture) token(t *testing.T, subject string, scopes ...string) string {
	t.Helper()
	tok, err := f.issuer.Token(devissuer.Claims{Subject: subject, Scopes: scopes, TTL: time.Minute})
	require.NoError(t, err)
	return tok
}

func (f *fixture) post(t *testing.T, op string, payloads []*commonpb.Payload, headers map[string]string) (*http.Response, []*commonpb.Payload) {
	t.Helper()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: payloads})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, f.server.URL+"/"+op, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if resp.StatusCode != http.StatusOK {
		assert.Equal(t, "application/problem+json", resp.Header.Get("Content-Type"), string(raw))
		return resp, nil
	}
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(raw, &out))
	return resp, out.Payloads
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token, "X-Namespace": "cases"}
}

func plain(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	require.NoError(t, err)
	return p
}

func TestEncodeThenDecodeRoundTripsForADecodeToken(t *testing.T) {
	f := newFixture(t, false, 100)
	headers := bearer(f.token(t, "jane.doe", auth.ScopeDecode))
	resp, encoded := f.post(t, "encode", []*commonpb.Payload{plain(t, "Ime Prezime")}, headers)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, encoded, 1)
	assert.NotContains(t, string(encoded[0].Data), "Ime")

	resp, decoded := f.post(t, "decode", encoded, headers)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, `"Ime Prezime"`, string(decoded[0].Data))
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))

	lines := f.audit.FilterMessage("Codec call").All()
	require.Len(t, lines, 2)
	fields := lines[1].ContextMap()
	assert.Equal(t, "decode", fields["operation"])
	assert.Equal(t, "jane.doe", fields["subject"])
	assert.Equal(t, "cases", fields["namespace"])
	assert.EqualValues(t, 1, fields["payloads"])
}

func TestTokensAreRequiredAndNeedTheDecodeScope(t *testing.T) {
	f := newFixture(t, false, 100)
	encoded, err := f.codec.Encode([]*commonpb.Payload{plain(t, "Ime Prezime")})
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		headers map[string]string
		status  int
	}{
		"no token":          {map[string]string{}, http.StatusUnauthorized},
		"not a bearer":      {map[string]string{"Authorization": "Basic amFuZTpwdw=="}, http.StatusUnauthorized},
		"forged token":      {bearer("eyJhbGciOiJub25lIn0.e30."), http.StatusUnauthorized},
		"without the scope": {bearer(f.token(t, "agent-7", auth.ScopeRead, auth.ScopeWrite)), http.StatusForbidden},
		"other namespace": {map[string]string{"Authorization": "Bearer " + f.token(t, "jane.doe", auth.ScopeDecode), "X-Namespace": "payments"},
			http.StatusForbidden},
		"dev UI origin, dev UI off": {map[string]string{"Origin": uiOrigin}, http.StatusUnauthorized},
	} {
		resp, _ := f.post(t, "decode", encoded, tc.headers)
		assert.Equal(t, tc.status, resp.StatusCode, name)
		if tc.status == http.StatusUnauthorized {
			assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer", name)
		}
	}
	assert.Empty(t, f.audit.FilterMessage("Codec call").All(), "refused calls decode nothing")
}

func TestTheDevUIDecodesWithoutATokenFromItsOriginOnly(t *testing.T) {
	f := newFixture(t, true, 100)
	encoded, err := f.codec.Encode([]*commonpb.Payload{plain(t, "Ime Prezime")})
	require.NoError(t, err)
	resp, decoded := f.post(t, "decode", encoded, map[string]string{"Origin": uiOrigin})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, `"Ime Prezime"`, string(decoded[0].Data))
	assert.Equal(t, "dev-ui", f.audit.FilterMessage("Codec call").All()[0].ContextMap()["subject"])

	resp, _ = f.post(t, "decode", encoded, map[string]string{"Origin": "https://evil.example"})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = f.post(t, "decode", encoded, nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
}

func TestCORSAnswersTheConfiguredOriginsOnly(t *testing.T) {
	f := newFixture(t, false, 100)
	preflight := func(origin string) *http.Response {
		req, err := http.NewRequest(http.MethodOptions, f.server.URL+"/decode", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type,x-namespace")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	ok := preflight(uiOrigin)
	assert.Equal(t, http.StatusNoContent, ok.StatusCode)
	assert.Equal(t, uiOrigin, ok.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, ok.Header.Get("Access-Control-Allow-Headers"), "X-Namespace")
	assert.Contains(t, ok.Header.Get("Access-Control-Allow-Headers"), "Authorization")

	refused := preflight("https://evil.example")
	assert.Equal(t, http.StatusForbidden, refused.StatusCode)
	assert.Empty(t, refused.Header.Get("Access-Control-Allow-Origin"))

	resp, _ := f.post(t, "decode", nil, map[string]string{"Origin": "https://evil.example", "Authorization": "Bearer " + f.token(t, "jane.doe", auth.ScopeDecode)})
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"), "a browser at another origin cannot read the answer")
}

func TestDecodingIsRateLimitedPerSubject(t *testing.T) {
	f := newFixture(t, false, 3)
	jane, john := bearer(f.token(t, "jane.doe", auth.ScopeDecode)), bearer(f.token(t, "john.roe", auth.ScopeDecode))
	for range 3 {
		resp, _ := f.post(t, "decode", nil, jane)
		require.Equal(t, http.StatusOK, resp.StatusCode)
	}
	resp, _ := f.post(t, "decode", nil, jane)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	resp, _ = f.post(t, "decode", nil, john)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "another operator has their own allowance")
	resp, _ = f.post(t, "encode", nil, jane)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "encoding reveals nothing and is not limited")
}

func TestBadRequestsGetProblemsWithoutInternals(t *testing.T) {
	f := newFixture(t, false, 100)
	headers := bearer(f.token(t, "jane.doe", auth.ScopeDecode))
	req, err := http.NewRequest(http.MethodPost, f.server.URL+"/decode", strings.NewReader(`{"payloads": 7}`))
	require.NoError(t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, string(body), `{\"payloads\": [...]}`)

	encoded, err := newCodec(t, "retired").Encode([]*commonpb.Payload{plain(t, "x")})
	require.NoError(t, err)
	resp, _ = f.post(t, "decode", encoded, headers)
	assert.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, "a key the ring lacks")

	resp, _ = f.post(t, "metrics", nil, headers)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}
