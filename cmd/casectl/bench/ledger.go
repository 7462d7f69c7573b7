package bench

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/bank/caseservice/casefile"
)

// ledger is what a load run knows it did: every case whose create got a 2xx
// and the state its last 2xx write set. casectl verify holds the service to it.
type ledger struct {
	mu    sync.Mutex
	Cases map[string]*ledgerCase `json:"cases"`
}

type ledgerCase struct {
	Class       casefile.Class `json:"class"`
	Customer    string         `json:"customer"`
	State       casefile.State `json:"state"`
	Version     int64          `json:"version"`
	CallbackAt  *time.Time     `json:"callback-at,omitempty"`
	Attachments int            `json:"attachments"`
	// Unsure is set when a write got no 2xx: it may or may not have
	// happened, so only the case's existence is certain.
	Unsure bool `json:"unsure,omitempty"`
}

func (l *ledger) add(id string, c *ledgerCase) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.Cases[id] = c
}

func (l *ledger) wrote(id string, state casefile.State, version int64, attached bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.Cases[id]
	c.State, c.Version = state, version
	if attached {
		c.Attachments++
	}
}

func (l *ledger) unsure(id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.Cases[id].Unsure = true
}

func (l *ledger) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.Cases)
}

func (l *ledger) save(path string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	raw, err := json.Marshal(l)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		return fmt.Errorf("write ledger: %w", err)
	}
	return nil
}

func loadLedger(path string) (*ledger, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read ledger: %w", err)
	}
	var l ledger
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, fmt.Errorf("read ledger %s: %w", path, err)
	}
	return &l, nil
}
