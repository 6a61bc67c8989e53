package main

import (
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

const (
	hashLength    = 32
	minIterations = 10000
)

type user struct {
	Login      string   `json:"login"`
	Salt       []byte   `json:"salt"` // base64 in JSON
	Iterations int      `json:"iterations"`
	Hash       []byte   `json:"hash"`
	Groups     []string `json:"groups"`
}

type usersFile struct {
	Users []user `json:"users"`
}

// fileVersion tells whether a file changed: replaced (inode), rewritten (size, mtime).
type fileVersion struct {
	inode uint64
	size  int64
	mtime time.Time
}

// userStore holds the users of the file and reads it again when it changed.
type userStore struct {
	path    string
	mu      sync.Mutex
	version fileVersion
	users   map[string]user
}

func (s *userStore) current() (map[string]user, error) {
	info, err := os.Stat(s.path)
	if err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	version := fileVersion{size: info.Size(), mtime: info.ModTime()}
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		version.inode = st.Ino
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.users != nil && version == s.version {
		return s.users, nil
	}
	users, err := readUsers(s.path)
	if err != nil {
		return nil, err
	}
	s.users, s.version = users, version
	return users, nil
}

func readUsers(path string) (map[string]user, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("users file: %w", err)
	}
	var file usersFile
	if err := json.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("users file %s: %w", path, err)
	}
	users := make(map[string]user, len(file.Users))
	for i, u := range file.Users {
		switch {
		case u.Login == "":
			return nil, fmt.Errorf("users file %s: users[%d].login is empty", path, i)
		case len(u.Salt) < 16:
			return nil, fmt.Errorf("users file %s: users[%d].salt is shorter than 16 bytes", path, i)
		case u.Iterations < minIterations:
			return nil, fmt.Errorf("users file %s: users[%d].iterations is below %d", path, i, minIterations)
		case len(u.Hash) != hashLength:
			return nil, fmt.Errorf("users file %s: users[%d].hash is not %d bytes", path, i, hashLength)
		}
		if _, seen := users[u.Login]; seen {
			return nil, fmt.Errorf("users file %s: users[%d].login %q appears twice", path, i, u.Login)
		}
		users[u.Login] = u
	}
	return users, nil
}

// decoy is what an unknown login is checked against, so that it costs as much as a known one.
var decoy = user{Salt: make([]byte, 16), Iterations: 100000, Hash: make([]byte, hashLength)}

// authenticate returns the user whose login and password these are.
func authenticate(users map[string]user, login, password string) (user, bool) {
	u, known := users[login]
	if !known {
		u = decoy
	}
	derived, err := pbkdf2.Key(sha256.New, password, u.Salt, u.Iterations, hashLength)
	if err != nil {
		return user{}, false
	}
	match := subtle.ConstantTimeCompare(derived, u.Hash) == 1
	return u, known && match
}
