// Package encryption encrypts every payload the service hands to Temporal, so
// that customer data never lies in plain text in Temporal's database, its
// backups, the UI or the CLI. Operators read cases decoded through the codec
// server (cmd/casecodec), which uses the same codec.
package encryption

import (
	"bytes"
	"compress/flate"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"google.golang.org/protobuf/proto"

	"github.com/bank/caseservice/config"
)

// Metadata of an encrypted payload. The encoding tells the SDK, the UI and
// the CLI that the data is not readable as it is.
const (
	MetadataEncoding    = "binary/encrypted"
	metadataKeyID       = "encryption-key-id"
	metadataCipher      = "encryption-cipher"
	metadataCompression = "encryption-compression"
	cipherName          = "AES256-GCM"
	compressionDeflate  = "deflate"
)

// KeySize is the length of an AES-256 key.
const KeySize = 32

// Key is one key of the ring.
type Key struct {
	// ID names the key in every payload it encrypts; never reuse an id for
	// another secret.
	ID     string
	Secret []byte
}

// KeyRing holds the keys: the first encrypts, every one decrypts.
type KeyRing []Key

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ParseKeyRing reads a ring written as id:base64-secret entries separated by
// commas or newlines; blank lines and lines starting with # are skipped.
func ParseKeyRing(text string) (KeyRing, error) {
	var ring KeyRing
	seen := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		for _, entry := range strings.Split(line, ",") {
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			id, encoded, ok := strings.Cut(entry, ":")
			if !ok || !keyIDPattern.MatchString(id) {
				return nil, fmt.Errorf("key ring entry %d: want id:base64-secret with an id of letters, digits, '.', '_' or '-'", len(ring)+1)
			}
			secret, err := base64.StdEncoding.DecodeString(encoded)
			if err != nil || len(secret) != KeySize {
				return nil, fmt.Errorf("key %q: want %d random bytes in standard base64", id, KeySize)
			}
			if seen[id] {
				return nil, fmt.Errorf("key %q: listed twice", id)
			}
			seen[id] = true
			ring = append(ring, Key{ID: id, Secret: secret})
		}
	}
	if len(ring) == 0 {
		return nil, errors.New("key ring holds no key")
	}
	return ring, nil
}

// NewKey returns a fresh random key under id, as a ring entry.
func NewKey(id string) (string, error) {
	if !keyIDPattern.MatchString(id) {
		return "", fmt.Errorf("key id %q: letters, digits, '.', '_' or '-', at most 64", id)
	}
	secret := make([]byte, KeySize)
	if _, err := rand.Read(secret); err != nil {
		return "", err
	}
	return id + ":" + base64.StdEncoding.EncodeToString(secret), nil
}

// MissingKeyError is the error of a payload encrypted under a key the ring
// does not hold. The task that met it fails and is retried, so the case goes
// on once the key is back in the ring.
type MissingKeyError struct{ KeyID string }

func (e *MissingKeyError) Error() string {
	return fmt.Sprintf("payload encrypted with key %q, which is not in the key ring (CASE_CODEC_KEYS)", e.KeyID)
}

// Options configure a Codec.
type Options struct {
	// Compress deflates payloads before encryption when that makes them smaller.
	Compress bool
	// OnMissingKey, if set, is told of every payload whose key is missing.
	OnMissingKey func(keyID string)
}

// Codec is a converter.PayloadCodec that encrypts with AES-256-GCM, a fresh
// nonce per payload and the key id in the payload's metadata.
type Codec struct {
	encryptWith string
	aeads       map[string]cipher.AEAD
	opts        Options
}

var _ converter.PayloadCodec = (*Codec)(nil)

// New returns a codec over ring.
func New(ring KeyRing, opts Options) (*Codec, error) {
	if len(ring) == 0 {
		return nil, errors.New("key ring holds no key")
	}
	c := &Codec{encryptWith: ring[0].ID, aeads: make(map[string]cipher.AEAD, len(ring)), opts: opts}
	for _, k := range ring {
		block, err := aes.NewCipher(k.Secret)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k.ID, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", k.ID, err)
		}
		c.aeads[k.ID] = aead
	}
	return c, nil
}

// compressAbove is the size from which compression can pay for its header.
const compressAbove = 256

// Encode encrypts each payload, metadata and data together.
func (c *Codec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	aead := c.aeads[c.encryptWith]
	for i, p := range payloads {
		plain, err := proto.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("encrypt payload: %w", err)
		}
		compression := ""
		if c.opts.Compress && len(plain) > compressAbove {
			if packed := deflate(plain); len(packed) < len(plain) {
				plain, compression = packed, compressionDeflate
			}
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return nil, fmt.Errorf("encrypt payload: %w", err)
		}
		metadata := map[string][]byte{
			converter.MetadataEncoding: []byte(MetadataEncoding),
			metadataKeyID:              []byte(c.encryptWith),
			metadataCipher:             []byte(cipherName),
		}
		if compression != "" {
			metadata[metadataCompression] = []byte(compression)
		}
		out[i] = &commonpb.Payload{
			Metadata: metadata,
			Data:     aead.Seal(nonce, nonce, plain, additionalData(c.encryptWith, compression)),
		}
	}
	return out, nil
}

// Decode decrypts each payload this codec encrypted and passes others (a
// plain `temporal workflow update` from the CLI, say) through unchanged.
func (c *Codec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if string(p.GetMetadata()[converter.MetadataEncoding]) != MetadataEncoding {
			out[i] = p
			continue
		}
		decoded, err := c.decode(p)
		if err != nil {
			return nil, err
		}
		out[i] = decoded
	}
	return out, nil
}

func (c *Codec) decode(p *commonpb.Payload) (*commonpb.Payload, error) {
	keyID := string(p.Metadata[metadataKeyID])
	aead, ok := c.aeads[keyID]
	if !ok {
		if c.opts.OnMissingKey != nil {
			c.opts.OnMissingKey(keyID)
		}
		return nil, &MissingKeyError{KeyID: keyID}
	}
	if name := string(p.Metadata[metadataCipher]); name != cipherName {
		return nil, fmt.Errorf("decrypt payload: unknown cipher %q", name)
	}
	if len(p.Data) < aead.NonceSize() {
		return nil, errors.New("decrypt payload: data shorter than its nonce")
	}
	compression := string(p.Metadata[metadataCompression])
	nonce, sealed := p.Data[:aead.NonceSize()], p.Data[aead.NonceSize():]
	plain, err := aead.Open(nil, nonce, sealed, additionalData(keyID, compression))
	if err != nil {
		return nil, fmt.Errorf("decrypt payload with key %q: %w", keyID, err)
	}
	switch compression {
	case "":
	case compressionDeflate:
		if plain, err = inflate(plain); err != nil {
			return nil, fmt.Errorf("decompress payload: %w", err)
		}
	default:
		return nil, fmt.Errorf("decrypt payload: unknown compression %q", compression)
	}
	var decoded commonpb.Payload
	if err := proto.Unmarshal(plain, &decoded); err != nil {
		return nil, fmt.Errorf("decrypt payload: %w", err)
	}
	return &decoded, nil
}

// additionalData binds the metadata that decryption relies on to the
// ciphertext, so that it cannot be swapped unnoticed.
func additionalData(keyID, compression string) []byte {
	return []byte("caseservice/v1\x00" + keyID + "\x00" + compression)
}

// deflaters are reused: each holds over half a megabyte of state.
var deflaters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestSpeed) // the level is valid
	return w
}}

func deflate(b []byte) []byte {
	var buf bytes.Buffer
	w := deflaters.Get().(*flate.Writer)
	defer deflaters.Put(w)
	w.Reset(&buf)
	_, _ = w.Write(b) // a bytes.Buffer does not fail
	_ = w.Close()
	return buf.Bytes()
}

// maxInflated bounds a decompressed payload, past the 2 MB Temporal accepts.
const maxInflated = 8 << 20

// inflaters are reused for the same reason as deflaters.
var inflaters = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

func inflate(b []byte) ([]byte, error) {
	r := inflaters.Get().(io.ReadCloser)
	defer inflaters.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(b), nil); err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(r, maxInflated+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxInflated {
		return nil, errors.New("payload inflates past 8 MiB")
	}
	return out, nil
}

// Converters are the SDK's default converters with c applied to every
// payload. Failure messages and stack traces carry case data too: the
// failure converter moves them into the encoded attributes, which c encrypts.
func Converters(c *Codec) (converter.DataConverter, converter.FailureConverter) {
	data := converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)
	return data, temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter: data, EncodeCommonAttributes: true,
	})
}

// FromConfig loads the configured ring and returns its codec.
func FromConfig(cfg config.Codec, opts Options) (c *Codec, created bool, err error) {
	ring, created, err := LoadKeyRing(cfg)
	if err != nil {
		return nil, false, err
	}
	opts.Compress = opts.Compress || cfg.Compress
	c, err = New(ring, opts)
	return c, created, err
}

// LoadKeyRing reads the configured ring. The dev ring is made on first use,
// by whichever process comes first; created says that this call made it.
func LoadKeyRing(cfg config.Codec) (ring KeyRing, created bool, err error) {
	text := cfg.Keys
	if cfg.KeysFile != "" {
		if cfg.DevRing {
			if created, err = createDevRing(cfg.KeysFile); err != nil {
				return nil, false, err
			}
		}
		b, err := os.ReadFile(cfg.KeysFile)
		if err != nil {
			return nil, false, fmt.Errorf("CASE_CODEC_KEYS_FILE: %w", err)
		}
		text = string(b)
	}
	if ring, err = ParseKeyRing(text); err != nil {
		return nil, false, fmt.Errorf("codec key ring: %w", err)
	}
	return ring, created, nil
}

// createDevRing writes a one-key ring to path unless a file is there. The
// ring is written aside and linked into place, so a process starting at the
// same moment reads either no file or the whole ring, never half of it.
func createDevRing(path string) (bool, error) {
	if _, err := os.Stat(path); err == nil {
		return false, nil
	}
	entry, err := NewKey("dev-1")
	if err != nil {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, fmt.Errorf("dev codec key ring: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".dev-codec-keys-*")
	if err != nil {
		return false, fmt.Errorf("dev codec key ring: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.WriteString("# Dev key ring (make dev): protects nothing of value; never use it in production.\n" + entry + "\n")
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return false, fmt.Errorf("dev codec key ring: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		return false, fmt.Errorf("dev codec key ring: %w", err)
	}
	return true, nil
}

// Derive returns a key for purpose from each key of the ring, in the ring's
// order (HKDF-SHA256), so that another use of the ring's secrets, such as
// signing, never shares a key with the encryption.
func (r KeyRing) Derive(purpose string) ([][]byte, error) {
	out := make([][]byte, len(r))
	for i, k := range r {
		derived, err := hkdf.Key(sha256.New, k.Secret, nil, purpose, KeySize)
		if err != nil {
			return nil, fmt.Errorf("derive a key from %q: %w", k.ID, err)
		}
		out[i] = derived
	}
	return out, nil
}
