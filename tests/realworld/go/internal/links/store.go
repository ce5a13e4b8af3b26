// Package links keeps short links in memory.
package links

import (
	"sync"

	"github.com/google/uuid"
)

type Link struct {
	ID  string `json:"id"`
	URL string `json:"url"`
}

type Store struct {
	mu    sync.Mutex
	links map[string]Link
}

func NewStore() *Store { return &Store{links: map[string]Link{}} }

func (s *Store) Add(url string) Link {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := Link{ID: uuid.NewString()[:8], URL: url}
	s.links[l.ID] = l
	return l
}

func (s *Store) Get(id string) (Link, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.links[id]
	return l, ok
}
