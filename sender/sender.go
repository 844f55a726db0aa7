// Package sender protects the identity of the people who send community alerts. A
// phone number is never stored in the clear: the store keeps a pseudonym, the keyed
// HMAC-SHA256 of the normalised number (so that one sender's messages can be grouped
// without knowing who sent them — a plain hash would not do, since every phone number
// of a country can be hashed in minutes), and the number sealed with AES-256-GCM, for
// replies and for the one role that may see it.
//
// Both keys derive from one 32-byte secret kept outside the database: a key file in
// the data directory (mode 0600), or a value given by flag or environment. Without it
// the database reveals no number.
package sender

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/bluehelm/bluehelm"
)

// KeySize is the size of the secret in bytes.
const KeySize = 32

// Keys pseudonymises and seals sender numbers. It is safe for concurrent use.
type Keys struct {
	mac  []byte
	aead cipher.AEAD
}

// New derives the pseudonym and sealing keys from secret (KeySize bytes).
func New(secret []byte) (*Keys, error) {
	if len(secret) != KeySize {
		return nil, fmt.Errorf("sender: the key must be %d bytes, not %d", KeySize, len(secret))
	}
	derive := func(label string) []byte {
		h := hmac.New(sha256.New, secret)
		h.Write([]byte(label))
		return h.Sum(nil)
	}
	block, err := aes.NewCipher(derive("bluehelm sender seal v1"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keys{mac: derive("bluehelm sender pseudonym v1"), aead: aead}, nil
}

// ParseKey reads a key given as text: 64 hex digits or standard base64 of 32 bytes.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && len(b) == KeySize {
		return b, nil
	}
	return nil, fmt.Errorf("sender: the key must be %d bytes as hex (64 digits) or base64", KeySize)
}

// LoadOrCreateKeyFile reads the key file at path, or creates it with a fresh random key
// (mode 0600) when it does not exist. A key file others may read is refused: the key
// is what keeps the numbers secret.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, KeySize)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("sender: creating the key file: %w", err)
		}
		if _, err := f.WriteString(hex.EncodeToString(key) + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("sender: writing the key file: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, err
		}
		return key, f.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("sender: key file: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("sender: key file %s is readable by others (mode %v); chmod 600 it", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sender: key file: %w", err)
	}
	return ParseKey(string(b))
}

// Normalize returns the canonical form of a phone number: "+" and digits only, with a
// leading international "00" written as "+". Spaces, dots, dashes and brackets are
// dropped; anything else makes the number invalid.
func Normalize(number string) (string, error) {
	s := strings.TrimSpace(number)
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", bluehelm.Invalid("from", "is not a phone number")
		}
	}
	n := b.String()
	if strings.HasPrefix(n, "00") {
		n = "+" + n[2:]
	}
	digits := strings.TrimPrefix(n, "+")
	if len(digits) < 3 || len(digits) > 17 {
		return "", bluehelm.Invalid("from", "is not a phone number (3 to 17 digits)")
	}
	return n, nil
}

// Pseudonym returns the keyed pseudonym of a normalised number, as hex.
func (k *Keys) Pseudonym(normalized string) string {
	h := hmac.New(sha256.New, k.mac)
	h.Write([]byte(normalized))
	return hex.EncodeToString(h.Sum(nil))
}

// aad binds a sealed number to its purpose, so that it cannot be swapped for another
// ciphertext made with the same key for something else.
var aad = []byte("bluehelm community sender")

// Seal encrypts a number: a random nonce followed by the AES-GCM ciphertext.
func (k *Keys) Seal(normalized string) ([]byte, error) {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(normalized)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return k.aead.Seal(nonce, nonce, []byte(normalized), aad), nil
}

// Open decrypts what Seal made.
func (k *Keys) Open(sealed []byte) (string, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n+k.aead.Overhead() {
		return "", errors.New("sender: sealed number too short")
	}
	plain, err := k.aead.Open(nil, sealed[:n], sealed[n:], aad)
	if err != nil {
		return "", errors.New("sender: the sealed number does not open with this key")
	}
	return string(plain), nil
}

// Protect normalises a number and returns its pseudonym and sealed form.
func (k *Keys) Protect(number string) (pseudonym string, sealed []byte, err error) {
	n, err := Normalize(number)
	if err != nil {
		return "", nil, err
	}
	sealed, err = k.Seal(n)
	if err != nil {
		return "", nil, err
	}
	return k.Pseudonym(n), sealed, nil
}
