package api

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
)

// Cursor pages: each list answer carries next-page-token, the place after
// its last row; page-token=<it> returns the page that follows, under the
// same filters and order, however many rows arrived before it meanwhile.
// A token names its listing by a digest of the filters and order that made
// it and is signed, so that a token used with other filters, or one that
// the API did not give out or that was altered, is refused (400).

// PageTokenPurpose derives the page token keys from the codec key ring
// (encryption.KeyRing.Derive).
const PageTokenPurpose = "case-api page tokens v1"

// pageTokenKeys sign and check page tokens: the first signs, every one is
// accepted, so that API processes with the same key ring accept each
// other's tokens and a rotated ring still accepts the tokens of the last key.
type pageTokenKeys [][]byte

// randomPageTokenKeys serves one process only (handler tests).
func randomPageTokenKeys() pageTokenKeys {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // never fails (crypto/rand)
	return pageTokenKeys{key}
}

// pageToken is what a token holds: the listing it belongs to, the number
// of the page it leads to and the place after the last row.
type pageToken[Place any] struct {
	Listing string `json:"l"`
	Number  int    `json:"n"`
	After   Place  `json:"a"`
}

const macSize = 16

// seal makes the token of t.
func seal[Place any](keys pageTokenKeys, t pageToken[Place]) string {
	payload, _ := json.Marshal(t) // plain fields: cannot fail
	return base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(mac(keys[0], payload))
}

func mac(key, payload []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(payload)
	return h.Sum(nil)[:macSize]
}

// openToken reads a token of listing; the reason says what is wrong with one
// that cannot be read.
func openToken[Place any](keys pageTokenKeys, token, listing string) (t pageToken[Place], reason string) {
	const forged = "is not a page token this API gave out, or was altered"
	encoded, signature, ok := strings.Cut(token, ".")
	payload, err1 := base64.RawURLEncoding.DecodeString(encoded)
	sum, err2 := base64.RawURLEncoding.DecodeString(signature)
	if !ok || err1 != nil || err2 != nil || !signedBy(keys, payload, sum) {
		return t, forged
	}
	if err := json.Unmarshal(payload, &t); err != nil || t.Number < 2 {
		return t, forged
	}
	if t.Listing != listing {
		return t, "belongs to a listing with other filters or another order; send the same ones, or start again without it"
	}
	return t, ""
}

func signedBy(keys pageTokenKeys, payload, sum []byte) bool {
	for _, key := range keys {
		if hmac.Equal(mac(key, payload), sum) {
			return true
		}
	}
	return false
}

// listingOf names a listing by a digest of what selects and orders it.
func listingOf(kind string, selection any) string {
	b, _ := json.Marshal(selection) // plain fields: cannot fail
	sum := sha256.Sum256(append([]byte(kind+"\x00"), b...))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}
