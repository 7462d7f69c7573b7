package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"github.com/stretchr/testify/require"

	"github.com/bank/caseservice/internal/platform/auth"
)

const (
	issuer   = "https://login.bank.example/"
	audience = "case-api"
)

// signer is an identity provider's key pair.
type signer struct {
	private jwk.Key
	public  jwk.Key
}

func newRSASigner(t *testing.T, kid string) signer {
	t.Helper()
	raw, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return signerOf(t, raw, kid)
}

func newECSigner(t *testing.T, kid string) signer {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return signerOf(t, raw, kid)
}

func signerOf(t *testing.T, raw any, kid string) signer {
	t.Helper()
	private, err := jwk.Import(raw)
	require.NoError(t, err)
	require.NoError(t, private.Set(jwk.KeyIDKey, kid))
	public, err := private.PublicKey()
	require.NoError(t, err)
	return signer{private: private, public: public}
}

func setOf(t *testing.T, keys ...jwk.Key) jwk.Set {
	t.Helper()
	set := jwk.NewSet()
	for _, k := range keys {
		require.NoError(t, set.AddKey(k))
	}
	return set
}

type claims func(b *jwt.Builder) *jwt.Builder

func valid(b *jwt.Builder) *jwt.Builder {
	now := time.Now()
	return b.Issuer(issuer).Audience([]string{audience}).Subject("agent-7").
		IssuedAt(now).NotBefore(now).Expiration(now.Add(time.Hour)).Claim("scope", "case:read case:write")
}

func (s signer) token(t *testing.T, alg jwa.SignatureAlgorithm, edits ...claims) string {
	t.Helper()
	b := valid(jwt.NewBuilder())
	for _, e := range edits {
		b = e(b)
	}
	tok, err := b.Build()
	require.NoError(t, err)
	signed, err := jwt.Sign(tok, jwt.WithKey(alg, s.private))
	require.NoError(t, err)
	return string(signed)
}

func verifier(keys auth.Keys) *auth.Verifier {
	return auth.NewVerifier(auth.Options{Keys: keys, Issuer: issuer, Audience: audience,
		Algorithms: auth.DefaultAlgorithms, Leeway: 5 * time.Second})
}

func TestValidTokensGiveTheirPrincipal(t *testing.T) {
	rs, ec := newRSASigner(t, "rsa-1"), newECSigner(t, "ec-1")
	v := verifier(auth.StaticKeys{Keys: setOf(t, rs.public, ec.public)})

	p, err := v.Verify(context.Background(), rs.token(t, jwa.RS256(), func(b *jwt.Builder) *jwt.Builder { return b.Claim("name", "Stevan") }))
	require.NoError(t, err)
	require.Equal(t, auth.Principal{Subject: "agent-7", Name: "Stevan", Scopes: []string{"case:read", "case:write"}}, p)

	p, err = v.Verify(context.Background(), ec.token(t, jwa.ES256(), func(b *jwt.Builder) *jwt.Builder {
		return b.Claim(auth.CustomerClaim, "1104977710344")
	}))
	require.NoError(t, err)
	require.Equal(t, "1104977710344", p.CustomerID)
}

func TestRefusedTokens(t *testing.T) {
	rs, other, ec := newRSASigner(t, "rsa-1"), newRSASigner(t, "rsa-1"), newECSigner(t, "ec-1")
	v := verifier(auth.StaticKeys{Keys: setOf(t, rs.public, ec.public)})
	hour := time.Hour
	tests := []struct {
		name  string
		token string
	}{
		{"alg none", unsigned(`{"alg":"none","kid":"rsa-1"}`)},
		{"HS256 signed with the RSA public key", hmacWithPublicKey(t, rs, "rsa-1")},
		{"HS256 signed with the EC public key", hmacWithPublicKey(t, ec, "ec-1")},
		{"algorithm not allowed (RS512)", rs.token(t, jwa.RS512())},
		{"signed by another key with the same kid", other.token(t, jwa.RS256())},
		{"wrong issuer", rs.token(t, jwa.RS256(), func(b *jwt.Builder) *jwt.Builder { return b.Issuer("https://evil.example/") })},
		{"wrong audience", rs.token(t, jwa.RS256(), func(b *jwt.Builder) *jwt.Builder { return b.Audience([]string{"other-api"}) })},
		{"expired", rs.token(t, jwa.RS256(), func(b *jwt.Builder) *jwt.Builder { return b.Expiration(time.Now().Add(-time.Minute)) })},
		{"not yet valid beyond the leeway", rs.token(t, jwa.RS256(), func(b *jwt.Builder) *jwt.Builder { return b.NotBefore(time.Now().Add(hour)) })},
		{"no subject", rs.token(t, jwa.RS256(), func(b *jwt.Builder) *jwt.Builder { return b.Subject("") })},
		{"empty customer claim", rs.token(t, jwa.RS256(), func(b *jwt.Builder) *jwt.Builder { return b.Claim(auth.CustomerClaim, "") })},
		{"unknown kid", newRSASigner(t, "rsa-9").token(t, jwa.RS256())},
		{"garbage", "not.a.token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tt.token)
			require.ErrorIs(t, err, auth.ErrInvalidToken)
		})
	}
}

func TestMissingExpiryIsRefused(t *testing.T) {
	rs := newRSASigner(t, "rsa-1")
	tok, err := jwt.NewBuilder().Issuer(issuer).Audience([]string{audience}).Subject("s").Claim("scope", "case:read").Build()
	require.NoError(t, err)
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.RS256(), rs.private))
	require.NoError(t, err)
	_, err = verifier(auth.StaticKeys{Keys: setOf(t, rs.public)}).Verify(context.Background(), string(signed))
	require.ErrorIs(t, err, auth.ErrInvalidToken)
}

func TestSmallClockSkewIsTolerated(t *testing.T) {
	rs := newRSASigner(t, "rsa-1")
	tok := rs.token(t, jwa.RS256(), func(b *jwt.Builder) *jwt.Builder { return b.NotBefore(time.Now().Add(2 * time.Second)) })
	_, err := verifier(auth.StaticKeys{Keys: setOf(t, rs.public)}).Verify(context.Background(), tok)
	require.NoError(t, err)
}

// hmacWithPublicKey is the algorithm-confusion attack: an HS256 token whose
// HMAC secret is the verifier's RSA public key.
func hmacWithPublicKey(t *testing.T, s signer, kid string) string {
	t.Helper()
	var raw any
	require.NoError(t, jwk.Export(s.public, &raw))
	der, err := x509.MarshalPKIXPublicKey(raw)
	require.NoError(t, err)
	tok, err := valid(jwt.NewBuilder()).Build()
	require.NoError(t, err)
	hdr := jws.NewHeaders()
	require.NoError(t, hdr.Set(jws.KeyIDKey, kid))
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), der, jws.WithProtectedHeaders(hdr)))
	require.NoError(t, err)
	return string(signed)
}

func unsigned(header string) string {
	enc := base64.RawURLEncoding.EncodeToString
	claims := `{"iss":"` + issuer + `","aud":"case-api","sub":"s","scope":"case:read","exp":4102444800}`
	return enc([]byte(header)) + "." + enc([]byte(claims)) + "."
}

// identityProvider serves OpenID discovery and a JWKS whose keys can rotate.
type identityProvider struct {
	server  *httptest.Server
	keys    atomic.Pointer[jwk.Set]
	fetches atomic.Int32
}

func newIdentityProvider(t *testing.T, keys jwk.Set) *identityProvider {
	t.Helper()
	idp := &identityProvider{}
	idp.keys.Store(&keys)
	mux := http.NewServeMux()
	idp.server = httptest.NewServer(mux)
	t.Cleanup(idp.server.Close)
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": idp.server.URL + "/", "jwks_uri": idp.server.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, _ *http.Request) {
		idp.fetches.Add(1)
		_ = json.NewEncoder(w).Encode(*idp.keys.Load())
	})
	return idp
}

func TestDiscoveryAndRefreshOnAnUnknownKid(t *testing.T) {
	old, rotated := newRSASigner(t, "2026-01"), newRSASigner(t, "2026-02")
	idp := newIdentityProvider(t, setOf(t, old.public))
	ctx := t.Context()

	jwksURL, err := auth.Discover(ctx, http.DefaultClient, idp.server.URL+"/")
	require.NoError(t, err)
	require.Equal(t, idp.server.URL+"/jwks", jwksURL)
	keys, err := auth.NewRemoteKeys(ctx, jwksURL, 200*time.Millisecond)
	require.NoError(t, err)
	v := auth.NewVerifier(auth.Options{Keys: keys, Issuer: issuer, Audience: audience, Algorithms: auth.DefaultAlgorithms})

	_, err = v.Verify(ctx, old.token(t, jwa.RS256()))
	require.NoError(t, err)

	// The provider rotates; a token with the new kid makes us fetch again.
	rotatedSet := setOf(t, old.public, rotated.public)
	idp.keys.Store(&rotatedSet)
	time.Sleep(300 * time.Millisecond)
	_, err = v.Verify(ctx, rotated.token(t, jwa.RS256()))
	require.NoError(t, err)

	// Made-up kids do not make us hammer the provider.
	bogus := newRSASigner(t, "bogus").token(t, jwa.RS256())
	before := idp.fetches.Load()
	for range 20 {
		_, err := v.Verify(ctx, bogus)
		require.ErrorIs(t, err, auth.ErrInvalidToken)
	}
	require.LessOrEqual(t, idp.fetches.Load()-before, int32(1))
}

func TestDiscoveryRefusesAForeignIssuer(t *testing.T) {
	idp := newIdentityProvider(t, jwk.NewSet())
	_, err := auth.Discover(t.Context(), http.DefaultClient, "https://login.bank.example/")
	require.Error(t, err, "nothing answers there")
	_, err = auth.Discover(t.Context(), http.DefaultClient, idp.server.URL+"/other/")
	require.Error(t, err)
}

// swappableKeys lets a test take keys away, as an identity provider that
// rotates one out of its JWKS does.
type swappableKeys struct{ set atomic.Pointer[jwk.Set] }

func (k *swappableKeys) Set() jwk.Set                 { return *k.set.Load() }
func (k *swappableKeys) Refresh(context.Context) bool { return false }

func TestVerifiedTokensAreRememberedUntilExpiryOrMaxAge(t *testing.T) {
	ec := newECSigner(t, "ec-1")
	keys := &swappableKeys{}
	withKey, noKeys := setOf(t, ec.public), jwk.NewSet()
	keys.set.Store(&withKey)
	now := time.Now()
	clock := func() time.Time { return now }
	v := auth.NewVerifier(auth.Options{Keys: keys, Issuer: issuer, Audience: audience, Algorithms: auth.DefaultAlgorithms,
		Leeway: 5 * time.Second, CacheSize: 100, CacheMaxAge: 10 * time.Minute, Now: clock})
	uncached := auth.NewVerifier(auth.Options{Keys: keys, Issuer: issuer, Audience: audience, Algorithms: auth.DefaultAlgorithms,
		Leeway: 5 * time.Second, Now: clock})
	short := ec.token(t, jwa.ES256(), func(b *jwt.Builder) *jwt.Builder { return b.Expiration(now.Add(time.Minute)) })
	long := ec.token(t, jwa.ES256())
	for _, tok := range []string{short, long} {
		_, err := v.Verify(context.Background(), tok)
		require.NoError(t, err)
	}

	// The key is gone: a remembered token still passes, a fresh check does not.
	keys.set.Store(&noKeys)
	p, err := v.Verify(context.Background(), short)
	require.NoError(t, err)
	require.Equal(t, "agent-7", p.Subject)
	_, err = uncached.Verify(context.Background(), short)
	require.ErrorIs(t, err, auth.ErrInvalidToken)

	now = now.Add(time.Minute + 6*time.Second)
	_, err = v.Verify(context.Background(), short)
	require.ErrorIs(t, err, auth.ErrInvalidToken, "never past the token's expiry and leeway")
	_, err = v.Verify(context.Background(), long)
	require.NoError(t, err, "the hour-long token is still remembered")

	now = now.Add(10 * time.Minute)
	_, err = v.Verify(context.Background(), long)
	require.ErrorIs(t, err, auth.ErrInvalidToken, "remembered for at most the max age, then checked again")
}

func TestATokenCacheStaysBounded(t *testing.T) {
	ec := newECSigner(t, "ec-1")
	v := auth.NewVerifier(auth.Options{Keys: auth.StaticKeys{Keys: setOf(t, ec.public)}, Issuer: issuer, Audience: audience,
		Algorithms: auth.DefaultAlgorithms, CacheSize: 10, CacheMaxAge: time.Minute})
	for i := range 50 {
		_, err := v.Verify(context.Background(), ec.token(t, jwa.ES256(), func(b *jwt.Builder) *jwt.Builder {
			return b.Subject(fmt.Sprintf("agent-%d", i))
		}))
		require.NoError(t, err)
	}
	require.LessOrEqual(t, v.Remembered(), 10)
}
