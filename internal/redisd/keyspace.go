package redisd

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// A key's file is named after the SHA-256 of the key (any key, any length, a safe file name)
// and holds:
//
//	expiry   8 bytes, big endian: Unix milliseconds, 0 for none
//	key len  4 bytes, big endian
//	key
//	value    the rest of the file
const (
	fileExt    = ".kv"
	tempPrefix = "tmp-"
	headerLen  = 12
)

// entry is one key's value and expiry (zero: never).
type entry struct {
	value   []byte
	expires time.Time
}

func (e entry) expired(now time.Time) bool { return !e.expires.IsZero() && !now.Before(e.expires) }

// keyspace holds every key in memory and writes each change to disk before it is seen: a write
// that could not be persisted fails and changes nothing.
type keyspace struct {
	dir string

	mu   sync.RWMutex
	keys map[string]entry
}

// openKeyspace loads the keys persisted in dir, dropping expired ones and half-written files.
func openKeyspace(dir string) (*keyspace, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("redisd: %w", err)
	}
	files, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("redisd: %w", err)
	}
	ks := &keyspace{dir: dir, keys: map[string]entry{}}
	now := time.Now()
	for _, f := range files {
		path := filepath.Join(dir, f.Name())
		switch {
		case strings.HasPrefix(f.Name(), tempPrefix): // a write interrupted before its rename
			_ = os.Remove(path)
			continue
		case f.IsDir() || filepath.Ext(f.Name()) != fileExt:
			continue
		}
		key, e, err := readEntry(path)
		if err != nil {
			return nil, fmt.Errorf("redisd: %s: %w", path, err)
		}
		if e.expired(now) {
			_ = os.Remove(path)
			continue
		}
		ks.keys[key] = e
	}
	return ks, nil
}

func readEntry(path string) (string, entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", entry{}, err
	}
	if len(data) < headerLen {
		return "", entry{}, errors.New("file too short")
	}
	expiresMs := int64(binary.BigEndian.Uint64(data[0:8]))
	keyLen := int(binary.BigEndian.Uint32(data[8:12]))
	if keyLen > len(data)-headerLen {
		return "", entry{}, errors.New("key length past the end of the file")
	}
	key := string(data[headerLen : headerLen+keyLen])
	e := entry{value: data[headerLen+keyLen:]}
	if expiresMs != 0 {
		e.expires = time.UnixMilli(expiresMs)
	}
	return key, e, nil
}

func (ks *keyspace) path(key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(ks.dir, hex.EncodeToString(sum[:])+fileExt)
}

// get returns the live entry of key. Callers hold ks.mu.
func (ks *keyspace) get(key string, now time.Time) (entry, bool) {
	e, ok := ks.keys[key]
	if !ok || e.expired(now) {
		return entry{}, false
	}
	return e, true
}

// put persists and stores key. Callers hold ks.mu for writing.
func (ks *keyspace) put(key string, e entry) error {
	if err := ks.write(key, e); err != nil {
		return err
	}
	ks.keys[key] = e
	return nil
}

// remove deletes key from disk and memory. Callers hold ks.mu for writing.
func (ks *keyspace) remove(key string) error {
	if err := os.Remove(ks.path(key)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	delete(ks.keys, key)
	return nil
}

// write replaces key's file atomically: a temporary file, synced, renamed over the old one, and
// the folder synced so the rename itself survives a crash.
func (ks *keyspace) write(key string, e entry) error {
	header := make([]byte, headerLen, headerLen+len(key))
	if !e.expires.IsZero() {
		binary.BigEndian.PutUint64(header[0:8], uint64(e.expires.UnixMilli()))
	}
	binary.BigEndian.PutUint32(header[8:12], uint32(len(key)))
	header = append(header, key...)

	f, err := os.CreateTemp(ks.dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	_, err = f.Write(header)
	if err == nil {
		_, err = f.Write(e.value)
	}
	if err == nil {
		err = f.Sync()
	}
	if closeErr := f.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(f.Name(), ks.path(key))
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	return syncDir(ks.dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// size counts the live keys.
func (ks *keyspace) size(now time.Time) int {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	n := 0
	for _, e := range ks.keys {
		if !e.expired(now) {
			n++
		}
	}
	return n
}

// sweep removes the keys expired at now.
func (ks *keyspace) sweep(now time.Time) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	var errs []error
	for key, e := range ks.keys {
		if e.expired(now) {
			errs = append(errs, ks.remove(key))
		}
	}
	return errors.Join(errs...)
}

// flush removes every key.
func (ks *keyspace) flush() error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	for key := range ks.keys {
		if err := ks.remove(key); err != nil {
			return err
		}
	}
	return nil
}
