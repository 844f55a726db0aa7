package marti

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/bluehelm/bluehelm"
)

// Files is a content-addressed blob store in a directory: each file lives at
// <dir>/<first two hex digits>/<sha256>, written once and never changed, so the
// same bytes shared twice are stored once and a hash always names the same bytes.
// Temporary files live in <dir>/tmp until they are complete and synced.
type Files struct {
	dir string
	max int64
}

// NewFiles opens (creating) the store in dir. Files larger than
// bluehelm.MaxAttachmentSize are refused. Leftover temporary files from a crash
// are removed: they were never committed, so nothing refers to them.
func NewFiles(dir string) (*Files, error) {
	f := &Files{dir: dir, max: bluehelm.MaxAttachmentSize}
	if err := os.MkdirAll(f.tmpDir(), 0o750); err != nil {
		return nil, fmt.Errorf("marti: files: %w", err)
	}
	ents, err := os.ReadDir(f.tmpDir())
	if err != nil {
		return nil, fmt.Errorf("marti: files: %w", err)
	}
	for _, e := range ents {
		os.Remove(filepath.Join(f.tmpDir(), e.Name()))
	}
	return f, nil
}

func (f *Files) tmpDir() string { return filepath.Join(f.dir, "tmp") }

func (f *Files) path(hash string) string { return filepath.Join(f.dir, hash[:2], hash) }

// validHash reports whether h is a lower-case hex SHA-256.
func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Staged is an upload written to a temporary file and synced, but not yet in the
// store: the caller inspects it (hash check, data package checks) and then
// Commits or Discards it, so refused input leaves nothing behind.
type Staged struct {
	Hash  string // lower-case hex SHA-256 of the content
	Size  int64
	file  *os.File
	files *Files
	done  bool
}

// Stage streams r into a temporary file while hashing it. It fails with
// ETOOLARGE when r has more than bluehelm.MaxAttachmentSize bytes.
func (f *Files) Stage(r io.Reader) (*Staged, error) {
	tmp, err := os.CreateTemp(f.tmpDir(), "upload-*")
	if err != nil {
		return nil, fmt.Errorf("marti: files: %w", err)
	}
	s := &Staged{file: tmp, files: f}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), io.LimitReader(r, f.max+1))
	if err == nil && n > f.max {
		err = bluehelm.Errorf(bluehelm.ETOOLARGE, "file larger than %d bytes", f.max)
	}
	if err == nil {
		// Synced before anything refers to it: a record must never point at bytes
		// a power cut could lose.
		err = tmp.Sync()
	}
	if err != nil {
		s.Discard()
		return nil, err
	}
	s.Hash, s.Size = hex.EncodeToString(h.Sum(nil)), n
	return s, nil
}

// ReaderAt gives access to the staged bytes for inspection.
func (s *Staged) ReaderAt() io.ReaderAt { return s.file }

// Commit moves the staged file to its place in the store. If the same content is
// already stored, the staged copy is dropped.
func (s *Staged) Commit() error {
	if s.done {
		return errors.New("marti: files: staged file already committed or discarded")
	}
	s.done = true
	tmp := s.file.Name()
	if err := s.file.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("marti: files: %w", err)
	}
	dst := s.files.path(s.Hash)
	if _, err := os.Stat(dst); err == nil {
		os.Remove(tmp)
		return nil
	}
	shard := filepath.Dir(dst)
	if err := os.MkdirAll(shard, 0o750); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("marti: files: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("marti: files: %w", err)
	}
	// The rename is durable only once the directories holding it are synced.
	if err := syncDir(shard); err != nil {
		return err
	}
	return syncDir(s.files.dir)
}

// Discard removes the staged file. It is safe to call after Commit (it does
// nothing then), so callers may defer it.
func (s *Staged) Discard() {
	if s.done {
		return
	}
	s.done = true
	s.file.Close()
	os.Remove(s.file.Name())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("marti: files: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("marti: files: sync %s: %w", filepath.Base(dir), err)
	}
	return nil
}

// Put stores everything r yields and returns its hash and size.
func (f *Files) Put(r io.Reader) (hash string, size int64, err error) {
	s, err := f.Stage(r)
	if err != nil {
		return "", 0, err
	}
	defer s.Discard()
	if err := s.Commit(); err != nil {
		return "", 0, err
	}
	return s.Hash, s.Size, nil
}

// Open returns the stored file with that hash; ENOTFOUND if there is none, EINVALID
// if hash is not a lower-case hex SHA-256 (so a hash never becomes a path outside
// the store).
func (f *Files) Open(hash string) (*os.File, error) {
	if !validHash(hash) {
		return nil, invalid("hash", "must be 64 lower-case hex digits")
	}
	file, err := os.Open(f.path(hash))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, notFound("no file with hash %s", hash)
	}
	if err != nil {
		return nil, fmt.Errorf("marti: files: %w", err)
	}
	return file, nil
}

// Has reports whether content with that hash is stored.
func (f *Files) Has(hash string) bool {
	if !validHash(hash) {
		return false
	}
	_, err := os.Stat(f.path(hash))
	return err == nil
}
