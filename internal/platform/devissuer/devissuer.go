// Package devissuer issues the tokens of local development and tests from a key
// kept in a file.
package devissuer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/bank/caseservice/internal/platform/auth"
)

// Issuer signs development tokens.
type Issuer struct {
	key      jwk.Key
	issuer   string
	audience string
}

// Load reads the signing key at path, creating it first if there is none.
// Concurrent first calls agree on one key: the file is linked into place only
// if absent.
func Load(path, issuer, audience string) (*Issuer, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		data, err = create(path)
	}
	if err != nil {
		return nil, fmt.Errorf("dev signing key %s: %w", path, err)
	}
	key, err := jwk.ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("parse dev signing key %s: %w", path, err)
	}
	return &Issuer{key: key, issuer: issuer, audience: audience}, nil
}

func create(path string) ([]byte, error) {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	key, err := jwk.Import(raw)
	if err != nil {
		return nil, err
	}
	if err := key.Set(jwk.KeyIDKey, fmt.Sprintf("dev-%d", time.Now().Unix())); err != nil {
		return nil, err
	}
	if err := key.Set(jwk.AlgorithmKey, jwa.ES256()); err != nil {
		return nil, err
	}
	data, err := json.Marshal(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dev-key-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return os.ReadFile(path) // another process won the race; use its key
	} else if err != nil {
		return nil, err
	}
	return data, nil
}

// PublicKeys is the key set that verifies this issuer's tokens.
func (i *Issuer) PublicKeys() (jwk.Set, error) {
	pub, err := i.key.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("dev public key: %w", err)
	}
	set := jwk.NewSet()
	if err := set.AddKey(pub); err != nil {
		return nil, err
	}
	return set, nil
}

// Claims describe the token to mint.
type Claims struct {
	Subject string
	Name    string
	Scopes  []string
	TTL     time.Duration
	// CustomerID makes a customer token, limited to that customer's cases.
	CustomerID string
}

// Token mints a signed token.
func (i *Issuer) Token(c Claims) (string, error) {
	now := time.Now()
	b := jwt.NewBuilder().
		Issuer(i.issuer).
		Audience([]string{i.audience}).
		Subject(c.Subject).
		IssuedAt(now).
		NotBefore(now).
		Expiration(now.Add(c.TTL)).
		Claim("scope", strings.Join(c.Scopes, " "))
	if c.Name != "" {
		b = b.Claim("name", c.Name)
	}
	if c.CustomerID != "" {
		b = b.Claim(auth.CustomerClaim, c.CustomerID)
	}
	tok, err := b.Build()
	if err != nil {
		return "", fmt.Errorf("build token: %w", err)
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256(), i.key))
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return string(signed), nil
}
