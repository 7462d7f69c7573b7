package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwk"
)

// StaticKeys is a fixed key set, such as the dev issuer's.
type StaticKeys struct{ Keys jwk.Set }

func (s StaticKeys) Set() jwk.Set                 { return s.Keys }
func (s StaticKeys) Refresh(context.Context) bool { return false }

// RemoteKeys is the identity provider's JWKS, fetched once, refreshed in the
// background and on demand when a token names a key we do not have, at most
// once per MinRefresh so that made-up key ids cannot hammer the provider.
type RemoteKeys struct {
	url        string
	cache      *jwk.Cache
	set        jwk.Set
	minRefresh time.Duration

	mu          sync.Mutex
	lastRefresh time.Time
}

// Discover finds the JWKS URL of an OpenID Connect issuer
// (<issuer>/.well-known/openid-configuration).
func Discover(ctx context.Context, client *http.Client, issuer string) (string, error) {
	url := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("openid discovery at %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("openid discovery at %s: %s", url, resp.Status)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		return "", fmt.Errorf("openid discovery at %s: %w", url, err)
	}
	if doc.Issuer != issuer || doc.JWKSURI == "" {
		return "", fmt.Errorf("openid discovery at %s: issuer %q and jwks_uri %q do not fit issuer %q", url, doc.Issuer, doc.JWKSURI, issuer)
	}
	return doc.JWKSURI, nil
}

// NewRemoteKeys fetches the key set at url and keeps it fresh until ctx ends.
func NewRemoteKeys(ctx context.Context, url string, minRefresh time.Duration) (*RemoteKeys, error) {
	cache, err := jwk.NewCache(ctx, httprc.NewClient())
	if err != nil {
		return nil, fmt.Errorf("jwks cache: %w", err)
	}
	if err := cache.Register(ctx, url, jwk.WithMinInterval(minRefresh)); err != nil {
		return nil, fmt.Errorf("fetch jwks %s: %w", url, err)
	}
	set, err := cache.CachedSet(url)
	if err != nil {
		return nil, fmt.Errorf("jwks cache: %w", err)
	}
	return &RemoteKeys{url: url, cache: cache, set: set, minRefresh: minRefresh, lastRefresh: time.Now()}, nil
}

func (r *RemoteKeys) Set() jwk.Set { return r.set }

// Refresh fetches the key set now unless that was done within MinRefresh.
func (r *RemoteKeys) Refresh(ctx context.Context) bool {
	r.mu.Lock()
	if time.Since(r.lastRefresh) < r.minRefresh {
		r.mu.Unlock()
		return false
	}
	r.lastRefresh = time.Now()
	r.mu.Unlock()
	_, err := r.cache.Refresh(ctx, r.url)
	return err == nil
}
