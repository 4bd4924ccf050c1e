package keys

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// Key files (the master key, the keyring) are read with their permissions
// checked on the open file, and written so that a reader never sees half a
// file and an existing file is never replaced by accident.

const keyFileMode fs.FileMode = 0o600

// readKeyFile reads the key file at path, refusing anything that is not a
// regular file, that group or others may access, or that is larger than max.
// The permissions are checked on the file descriptor that is read, so a file
// swapped in between cannot slip past the check.
func readKeyFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("keys: %s is not a regular file", path)
	}
	if err := checkPerm(path, fi.Mode()); err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("keys: read %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("keys: %s is larger than %d bytes, too large to be a key file", path, max)
	}
	return data, nil
}

// checkPerm refuses a mode that lets group or others read or write. Windows
// has no such permission bits, so nothing is checked there.
func checkPerm(path string, mode fs.FileMode) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	if mode.Perm()&0o077 != 0 {
		return fmt.Errorf("%s has mode %04o, want 0600: %w", path, mode.Perm(), ErrInsecurePermissions)
	}
	return nil
}

// createFile writes data to a new file at path, mode 0600, and reports
// whether it did. If path already exists it leaves it alone and returns
// false: an existing key file is never overwritten. The file appears whole:
// data goes to a synced temporary file first, which is then hard-linked into
// place (a link, unlike a rename, refuses to replace).
func createFile(path string, data []byte) (created bool, err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("keys: create directory: %w", err)
	}
	tmp, err := writeTemp(dir, data)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	switch err := os.Link(tmp, path); {
	case err == nil:
	case errors.Is(err, fs.ErrExist):
		return false, nil
	default:
		// Some filesystems have no hard links. Fall back to an exclusive
		// create: still never replaces, but a concurrent reader could see
		// the file before it is complete.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, keyFileMode)
		if errors.Is(err, fs.ErrExist) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("keys: create %s: %w", path, err)
		}
		if err := writeAndSync(f, data); err != nil {
			os.Remove(path)
			return false, fmt.Errorf("keys: create %s: %w", path, err)
		}
	}
	if err := syncDir(dir); err != nil {
		return true, err
	}
	return true, nil
}

// replaceFile atomically replaces the file at path with data, mode 0600:
// temporary file in the same directory, fsync, rename, fsync the directory.
func replaceFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := writeTemp(dir, data)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keys: replace %s: %w", path, err)
	}
	return syncDir(dir)
}

// writeTemp writes data to a new temporary file in dir with mode 0600,
// synced to disk, and returns its name.
func writeTemp(dir string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, ".kaigi-key-*.tmp")
	if err != nil {
		return "", fmt.Errorf("keys: create temporary file: %w", err)
	}
	name := f.Name()
	// CreateTemp already uses 0600 less the umask; set it exactly.
	if err := f.Chmod(keyFileMode); err != nil {
		f.Close()
		os.Remove(name)
		return "", fmt.Errorf("keys: chmod temporary file: %w", err)
	}
	if err := writeAndSync(f, data); err != nil {
		os.Remove(name)
		return "", fmt.Errorf("keys: write temporary file: %w", err)
	}
	return name, nil
}

// writeAndSync writes data to f, syncs and closes it.
func writeAndSync(f *os.File, data []byte) error {
	_, err := f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes a rename or link in dir durable. Windows cannot sync a
// directory and does not need to.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("keys: sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("keys: sync directory: %w", err)
	}
	return nil
}
