package keys

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
)

// The master key file holds the key as 64 lower- or upper-case hex digits on
// one line, optionally followed by a newline, with mode 0600.
const maxMasterKeyFile = 1024

// LoadMasterKey reads the master key from the file at path and never creates
// it; use it when the operator named the file explicitly (for example with
// KAIGI_MASTER_KEY_FILE), so that a typo is an error rather than a new key.
//
// It fails with an error matching fs.ErrNotExist if there is no file,
// ErrInsecurePermissions if group or others may access it, and
// ErrMalformedMasterKey if it does not hold 64 hex digits of a non-zero key.
// The error never contains the file's content.
func LoadMasterKey(path string) (MasterKey, error) {
	data, err := readKeyFile(path, maxMasterKeyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return MasterKey{}, fmt.Errorf("keys: master key file %s does not exist: %w", path, err)
	}
	if err != nil {
		return MasterKey{}, fmt.Errorf("keys: read master key: %w", err)
	}
	defer clear(data)
	k, detail := parseMasterKey(data)
	if detail != "" {
		return MasterKey{}, fmt.Errorf("read master key %s: %s: %w", path, detail, ErrMalformedMasterKey)
	}
	return k, nil
}

// LoadOrCreateMasterKey reads the master key from the file at path, or, if
// there is no file, creates it (and its directory, mode 0700) with a fresh
// random key, mode 0600. An existing file is never overwritten: if it cannot
// be read, has permissions looser than 0600 or is malformed, the error says
// so, as for LoadMasterKey. Two processes racing to create the file end up
// with the same key.
func LoadOrCreateMasterKey(path string) (MasterKey, error) {
	k, err := LoadMasterKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	b, err := randomKey()
	if err != nil {
		return MasterKey{}, err
	}
	line := make([]byte, hex.EncodedLen(KeySize)+1)
	hex.Encode(line, b[:])
	line[len(line)-1] = '\n'
	created, err := createFile(path, line)
	clear(line)
	if err != nil {
		return MasterKey{}, fmt.Errorf("keys: create master key: %w", err)
	}
	if !created {
		// Another process created it first: use that one.
		return LoadMasterKey(path)
	}
	return MasterKey{b: b}, nil
}

// parseMasterKey decodes a master key file. On failure it returns a
// description of what is wrong that does not reveal the content.
func parseMasterKey(data []byte) (MasterKey, string) {
	line := bytes.TrimSuffix(data, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) == 0 {
		return MasterKey{}, "the file is empty"
	}
	if len(line) != hex.EncodedLen(KeySize) {
		return MasterKey{}, fmt.Sprintf("found %d characters, want %d hex digits", len(line), hex.EncodedLen(KeySize))
	}
	b := new([KeySize]byte)
	if _, err := hex.Decode(b[:], line); err != nil {
		return MasterKey{}, "it contains characters that are not hex digits"
	}
	if *b == [KeySize]byte{} {
		return MasterKey{}, "the key is all zeros"
	}
	return MasterKey{b: b}, ""
}
