// Package signing holds the service's Ed25519 signing key.
//
// Kaigi signs what others must be able to check without trusting the server:
// audit checkpoints, transparency-log tree heads, export manifests and
// deletion certificates. The key is one Ed25519 key per deployment, kept in a
// PKCS#8 PEM file (mode 0600) in the data directory. Its public half is
// published as PEM (so openssl and friends can verify raw signatures) and as a
// signed-note verifier key (golang.org/x/mod/sumdb/note), the format of
// checkpoints.
package signing

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/mod/sumdb/note"
)

// FileName is the key's file name in the data directory.
const FileName = "signing-key.pem"

// ErrBadKeyFile says the key file exists but cannot be used.
var ErrBadKeyFile = errors.New("bad signing key file")

// Key is the service's signing key. Its private half never leaves this type.
type Key struct {
	_     [0]func() // not comparable
	name  string
	priv  ed25519.PrivateKey
	vkey  string
	khash uint32
}

// LoadOrCreate reads the key at path, creating it (0600) when there is none.
// An existing file that does not hold an Ed25519 key is an error and is never
// overwritten. name identifies the signer in signed notes (no spaces or '+').
func LoadOrCreate(path, name string) (*Key, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		_, priv, gerr := ed25519.GenerateKey(rand.Reader)
		if gerr != nil {
			return nil, gerr
		}
		der, merr := x509.MarshalPKCS8PrivateKey(priv)
		if merr != nil {
			return nil, merr
		}
		if err := writeNew(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
			return nil, err
		}
		return New(name, priv)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: cannot read %s: %v", ErrBadKeyFile, path, err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%w: %s does not hold a PEM private key; restore it from backup (it was not changed)", ErrBadKeyFile, path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v; restore it from backup (it was not changed)", ErrBadKeyFile, path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s holds a key that is not Ed25519", ErrBadKeyFile, path)
	}
	return New(name, priv)
}

func writeNew(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create signing key: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// New returns a Key from an Ed25519 private key.
func New(name string, priv ed25519.PrivateKey) (*Key, error) {
	vkey, err := note.NewEd25519VerifierKey(name, priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, fmt.Errorf("signer name %q: %w", name, err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	return &Key{name: name, priv: priv, vkey: vkey, khash: v.KeyHash()}, nil
}

// Sign signs msg with plain Ed25519.
func (k *Key) Sign(msg []byte) []byte { return ed25519.Sign(k.priv, msg) }

// Public returns the public key.
func (k *Key) Public() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }

// PublicPEM returns the public key as a PKIX PEM block.
func (k *Key) PublicPEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		panic(err) // an Ed25519 public key always marshals
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// VerifierKey returns the signed-note verifier key: "<name>+<hash>+<keydata>".
func (k *Key) VerifierKey() string { return k.vkey }

// Name returns the signer name used in signed notes.
func (k *Key) Name() string { return k.name }

// KeyHash returns the signed-note key hash.
func (k *Key) KeyHash() uint32 { return k.khash }

// String never shows the private key.
func (k *Key) String() string { return "signing.Key(" + k.vkey + ")" }

// NoteSigner returns a signer for signed notes.
func (k *Key) NoteSigner() note.Signer { return noteSigner{k} }

type noteSigner struct{ k *Key }

func (s noteSigner) Name() string                    { return s.k.name }
func (s noteSigner) KeyHash() uint32                 { return s.k.khash }
func (s noteSigner) Sign(msg []byte) ([]byte, error) { return s.k.Sign(msg), nil }

// SignNote signs text (which must end in a newline) as a signed note.
func (k *Key) SignNote(text string) (string, error) {
	b, err := note.Sign(&note.Note{Text: text}, k.NoteSigner())
	return string(b), err
}

// OpenNote verifies a signed note against verifier key vkey and returns its text.
func OpenNote(signed, vkey string) (string, error) {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return "", fmt.Errorf("verifier key: %w", err)
	}
	n, err := note.Open([]byte(signed), note.VerifierList(v))
	if err != nil {
		return "", err
	}
	return n.Text, nil
}
