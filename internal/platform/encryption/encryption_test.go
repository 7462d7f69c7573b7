package encryption_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"

	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/platform/encryption"
)

func ring(t *testing.T, ids ...string) encryption.KeyRing {
	t.Helper()
	entries := make([]string, len(ids))
	for i, id := range ids {
		entry, err := encryption.NewKey(id)
		require.NoError(t, err)
		entries[i] = entry
	}
	r, err := encryption.ParseKeyRing(strings.Join(entries, ","))
	require.NoError(t, err)
	return r
}

func codec(t *testing.T, r encryption.KeyRing, opts encryption.Options) *encryption.Codec {
	t.Helper()
	c, err := encryption.New(r, opts)
	require.NoError(t, err)
	return c
}

func payload(t *testing.T, v any) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(v)
	require.NoError(t, err)
	return p
}

const secretText = "Ime Prezime, card 4111 blocked at the ATM on Partizanska"

func TestEncodeHidesTheDataAndDecodeRestoresIt(t *testing.T) {
	for _, compress := range []bool{false, true} {
		c := codec(t, ring(t, "k1"), encryption.Options{Compress: compress})
		in := []*commonpb.Payload{payload(t, strings.Repeat(secretText, 20)), payload(t, map[string]string{"name": "Ime"}), payload(t, nil)}
		encoded, err := c.Encode(in)
		require.NoError(t, err)
		require.Len(t, encoded, len(in))
		for _, p := range encoded {
			assert.Equal(t, encryption.MetadataEncoding, string(p.Metadata[converter.MetadataEncoding]))
			assert.Equal(t, "k1", string(p.Metadata["encryption-key-id"]))
			assert.NotContains(t, string(p.Data), "Ime")
		}
		if compress {
			assert.Equal(t, "deflate", string(encoded[0].Metadata["encryption-compression"]), "a long repetitive payload is compressed")
			assert.Less(t, len(encoded[0].Data), len(in[0].Data))
		}
		decoded, err := c.Decode(encoded)
		require.NoError(t, err)
		for i := range in {
			assert.Equal(t, in[i].Metadata, decoded[i].Metadata)
			assert.Equal(t, in[i].Data, decoded[i].Data)
		}
	}
}

func TestEveryPayloadGetsItsOwnNonce(t *testing.T) {
	c := codec(t, ring(t, "k1"), encryption.Options{})
	p := payload(t, secretText)
	encoded, err := c.Encode([]*commonpb.Payload{p, p})
	require.NoError(t, err)
	assert.NotEqual(t, encoded[0].Data, encoded[1].Data)
}

func TestDecodePassesPlainPayloadsThrough(t *testing.T) {
	c := codec(t, ring(t, "k1"), encryption.Options{})
	plain := payload(t, "2026-12-24T10:00:00Z")
	decoded, err := c.Decode([]*commonpb.Payload{plain})
	require.NoError(t, err)
	assert.Same(t, plain, decoded[0])
}

// Rotation: a ring with a new first key encrypts with it and still reads
// what the old key encrypted.
func TestRotatedRingReadsOldPayloads(t *testing.T) {
	old := ring(t, "2026-01")
	encodedOld, err := codec(t, old, encryption.Options{}).Encode([]*commonpb.Payload{payload(t, secretText)})
	require.NoError(t, err)

	fresh := ring(t, "2026-07")
	rotated := codec(t, encryption.KeyRing{fresh[0], old[0]}, encryption.Options{})
	decoded, err := rotated.Decode(encodedOld)
	require.NoError(t, err)
	assert.Contains(t, string(decoded[0].Data), "Ime Prezime")
	encodedNew, err := rotated.Encode([]*commonpb.Payload{payload(t, secretText)})
	require.NoError(t, err)
	assert.Equal(t, "2026-07", string(encodedNew[0].Metadata["encryption-key-id"]))
}

func TestAMissingKeyIsNamedAndReported(t *testing.T) {
	encoded, err := codec(t, ring(t, "gone"), encryption.Options{}).Encode([]*commonpb.Payload{payload(t, secretText)})
	require.NoError(t, err)
	var reported []string
	c := codec(t, ring(t, "other"), encryption.Options{OnMissingKey: func(id string) { reported = append(reported, id) }})
	_, err = c.Decode(encoded)
	var missing *encryption.MissingKeyError
	require.ErrorAs(t, err, &missing)
	assert.Equal(t, "gone", missing.KeyID)
	assert.Contains(t, err.Error(), `"gone"`)
	assert.Equal(t, []string{"gone"}, reported)
}

func TestTamperedPayloadsAreRefused(t *testing.T) {
	r := ring(t, "k1")
	c := codec(t, r, encryption.Options{Compress: true})
	fresh := func() *commonpb.Payload {
		encoded, err := c.Encode([]*commonpb.Payload{payload(t, strings.Repeat(secretText, 20))})
		require.NoError(t, err)
		return encoded[0]
	}
	tampers := map[string]func(p *commonpb.Payload){
		"flipped bit":         func(p *commonpb.Payload) { p.Data[len(p.Data)-1] ^= 1 },
		"compression dropped": func(p *commonpb.Payload) { delete(p.Metadata, "encryption-compression") },
		"truncated":           func(p *commonpb.Payload) { p.Data = p.Data[:5] },
		"other cipher":        func(p *commonpb.Payload) { p.Metadata["encryption-cipher"] = []byte("ROT13") },
	}
	for name, tamper := range tampers {
		p := fresh()
		tamper(p)
		_, err := c.Decode([]*commonpb.Payload{p})
		assert.Error(t, err, name)
		var missing *encryption.MissingKeyError
		assert.False(t, errors.As(err, &missing), name)
	}
}

func TestParseKeyRing(t *testing.T) {
	a, err := encryption.NewKey("a")
	require.NoError(t, err)
	b, err := encryption.NewKey("b")
	require.NoError(t, err)
	r, err := encryption.ParseKeyRing("# keys, newest first\n" + a + "\n\n" + b + "\n")
	require.NoError(t, err)
	require.Len(t, r, 2)
	assert.Equal(t, "a", r[0].ID)
	assert.Len(t, r[0].Secret, encryption.KeySize)

	bad := map[string]string{
		"empty":         "  \n# nothing\n",
		"no secret":     "a",
		"short secret":  "a:" + "c2hvcnQ=",
		"not base64":    "a:!!!",
		"bad id":        "a b:" + strings.SplitN(a, ":", 2)[1],
		"duplicate ids": a + "," + a,
	}
	for name, text := range bad {
		_, err := encryption.ParseKeyRing(text)
		assert.Error(t, err, name)
		assert.NotContains(t, err.Error(), strings.SplitN(a, ":", 2)[1], "%s: an error never shows a secret", name)
	}
	_, err = encryption.NewKey("no spaces")
	assert.Error(t, err)
}

func TestDataConverterRoundTrips(t *testing.T) {
	dc, _ := encryption.Converters(codec(t, ring(t, "k1"), encryption.Options{}))
	p, err := dc.ToPayload(map[string]string{"customer-name": "Ime Prezime"})
	require.NoError(t, err)
	assert.False(t, bytes.Contains(p.Data, []byte("Ime")))
	var out map[string]string
	require.NoError(t, dc.FromPayload(p, &out))
	assert.Equal(t, "Ime Prezime", out["customer-name"])
}

func TestTheDevRingIsMadeOnceOnFirstUse(t *testing.T) {
	cfg := config.Codec{KeysFile: filepath.Join(t.TempDir(), ".data", "dev-codec-keys"), DevRing: true}
	first, created, err := encryption.LoadKeyRing(cfg)
	require.NoError(t, err)
	assert.True(t, created)
	again, created, err := encryption.LoadKeyRing(cfg)
	require.NoError(t, err)
	assert.False(t, created)
	assert.Equal(t, first, again)
	info, err := os.Stat(cfg.KeysFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())

	_, _, err = encryption.LoadKeyRing(config.Codec{KeysFile: filepath.Join(t.TempDir(), "absent")})
	assert.ErrorContains(t, err, "CASE_CODEC_KEYS_FILE", "only the dev ring is made")
	_, _, err = encryption.LoadKeyRing(config.Codec{Keys: "k:short"})
	assert.ErrorContains(t, err, "codec key ring")
}

// BenchmarkCodecRoundTrip encrypts and decrypts one payload of the size of a
// case workflow's input (about 2 KB of JSON).
func BenchmarkCodecRoundTrip(b *testing.B) {
	entry, _ := encryption.NewKey("bench")
	r, _ := encryption.ParseKeyRing(entry)
	for _, compress := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "compressed"}[compress], func(b *testing.B) {
			c, _ := encryption.New(r, encryption.Options{Compress: compress})
			p, _ := converter.GetDefaultDataConverter().ToPayload(map[string]string{"details": strings.Repeat(secretText+" ", 36)})
			in := []*commonpb.Payload{p}
			b.SetBytes(int64(len(p.Data)))
			b.ReportAllocs()
			for b.Loop() {
				encoded, err := c.Encode(in)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Decode(encoded); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestDerivedKeysAreStablePerPurposeAndNeverTheSecret(t *testing.T) {
	a, err := encryption.NewKey("a")
	require.NoError(t, err)
	b, err := encryption.NewKey("b")
	require.NoError(t, err)
	ring, err := encryption.ParseKeyRing(a + "," + b)
	require.NoError(t, err)
	tokens, err := ring.Derive("page tokens")
	require.NoError(t, err)
	again, err := ring.Derive("page tokens")
	require.NoError(t, err)
	other, err := ring.Derive("something else")
	require.NoError(t, err)
	require.Len(t, tokens, 2)
	require.Equal(t, tokens, again, "every process derives the same keys")
	require.NotEqual(t, tokens[0], tokens[1])
	require.NotEqual(t, tokens[0], other[0])
	require.NotEqual(t, ring[0].Secret, tokens[0])
}
