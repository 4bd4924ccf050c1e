// Package dir is the blob.Blob that keeps blobs in a local directory, the
// embedded default for a single node.
//
// Blobs are sealed with blob.SealStream before any byte is written, so the
// directory holds ciphertext only. File names do not reveal blob keys: a blob
// lives at
//
//	<root>/<tenant id>/<first 2 hex digits>/<SHA-256 of the key, hex>
//
// which also keeps directories small and sidesteps case-insensitive
// filesystems. Files are written to a temporary file in the same directory,
// synced and renamed into place, so a blob appears whole or not at all.
// Files are mode 0600 and directories 0700.
package dir

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/kaigi/kaigi/internal/blob"
	"github.com/kaigi/kaigi/internal/ids"
)

const (
	dirMode   fs.FileMode = 0o700
	tmpPrefix             = ".put-"
)

// Dir stores blobs under a root directory. It is safe for concurrent use,
// within one process or several sharing the directory.
type Dir struct {
	root string
	keys blob.Keys
}

var _ blob.Blob = (*Dir)(nil)

// New returns a Dir keeping blobs under root, which it creates (mode 0700)
// if need be, encrypted with keys.
func New(root string, keys blob.Keys) (*Dir, error) {
	if keys == nil {
		return nil, errors.New("blob/dir: no keys")
	}
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("blob/dir: %w", err)
	}
	if err := os.MkdirAll(root, dirMode); err != nil {
		return nil, fmt.Errorf("blob/dir: create root: %w", err)
	}
	return &Dir{root: root, keys: keys}, nil
}

// path returns the directory and file name of a blob; tenant and key must be
// valid.
func (d *Dir) path(tenant ids.TenantID, key string) (dir, file string) {
	sum := sha256.Sum256([]byte(key))
	name := hex.EncodeToString(sum[:])
	dir = filepath.Join(d.root, string(tenant), name[:2])
	return dir, filepath.Join(dir, name)
}

// Put implements blob.Blob.
func (d *Dir) Put(ctx context.Context, tenant ids.TenantID, key string, r io.Reader) (int64, error) {
	if err := blob.Valid(tenant, key); err != nil {
		return 0, err
	}
	dir, file := d.path(tenant, key)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return 0, fmt.Errorf("blob/dir: put: %w", err)
	}
	f, err := os.CreateTemp(dir, tmpPrefix+"*")
	if err != nil {
		return 0, fmt.Errorf("blob/dir: put: %w", err)
	}
	tmp := f.Name()
	n, err := writeSealed(ctx, d.keys, tenant, key, f, r)
	if err != nil {
		os.Remove(tmp)
		return 0, err
	}
	if err := os.Rename(tmp, file); err != nil {
		os.Remove(tmp)
		return 0, fmt.Errorf("blob/dir: put: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return 0, fmt.Errorf("blob/dir: put: %w", err)
	}
	return n, nil
}

// writeSealed seals r into f, syncs and closes f.
func writeSealed(ctx context.Context, keys blob.Keys, tenant ids.TenantID, key string, f *os.File, r io.Reader) (int64, error) {
	w := bufio.NewWriterSize(f, blob.ChunkSize+blob.ChunkOverhead)
	n, err := blob.SealStream(ctx, keys, tenant, key, w, r)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Chmod(0o600) // CreateTemp made it 0600 less the umask; make it exact
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("blob/dir: put: %w", err)
	}
	return n, nil
}

// Get implements blob.Blob.
func (d *Dir) Get(ctx context.Context, tenant ids.TenantID, key string) (io.ReadCloser, error) {
	if err := blob.Valid(tenant, key); err != nil {
		return nil, err
	}
	_, file := d.path(tenant, key)
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("blob/dir: get: %w", blob.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("blob/dir: get: %w", err)
	}
	r, err := blob.OpenStream(ctx, d.keys, tenant, key, f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("blob/dir: get: %w", err)
	}
	return readCloser{r, f}, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

// Delete implements blob.Blob.
func (d *Dir) Delete(ctx context.Context, tenant ids.TenantID, key string) error {
	if err := blob.Valid(tenant, key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, file := d.path(tenant, key)
	if err := os.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob/dir: delete: %w", err)
	}
	if err := syncDir(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob/dir: delete: %w", err)
	}
	return nil
}

// DeleteTenant implements blob.Blob.
func (d *Dir) DeleteTenant(ctx context.Context, tenant ids.TenantID) error {
	if !ids.Valid(string(tenant)) {
		return fmt.Errorf("%w: tenant id", blob.ErrInvalidKey)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.RemoveAll(filepath.Join(d.root, string(tenant))); err != nil {
		return fmt.Errorf("blob/dir: delete tenant: %w", err)
	}
	return syncDir(d.root)
}

// syncDir makes a rename or removal in dir durable. Windows cannot sync a
// directory and does not need to.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}
