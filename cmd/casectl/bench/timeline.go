package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"time"
)

// timeline counts, per wall-clock second, the attempts that got a 2xx and
// those that failed, so that recovery from a fault can be read off it.
type timeline struct {
	mu      sync.Mutex
	seconds map[int64]*second
}

// second is one line of a timeline file.
type second struct {
	Unix   int64 `json:"second"`
	OK     int   `json:"ok"`
	Failed int   `json:"failed"`
}

func (t *timeline) note(ok bool) {
	now := time.Now().Unix()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.seconds == nil {
		t.seconds = map[int64]*second{}
	}
	s := t.seconds[now]
	if s == nil {
		s = &second{Unix: now}
		t.seconds[now] = s
	}
	if ok {
		s.OK++
	} else {
		s.Failed++
	}
}

// save writes the seconds in order, one JSON object a line, the seconds
// with no attempt at all included as zeros.
func (t *timeline) save(path string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	keys := slices.Sorted(maps.Keys(t.seconds))
	if len(keys) > 0 {
		for unix := keys[0]; unix <= keys[len(keys)-1]; unix++ {
			s := second{Unix: unix}
			if found := t.seconds[unix]; found != nil {
				s = *found
			}
			if err := enc.Encode(s); err != nil {
				f.Close()
				return err
			}
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func loadTimeline(path string) ([]second, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var seconds []second
	dec := json.NewDecoder(f)
	for dec.More() {
		var s second
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		seconds = append(seconds, s)
	}
	return seconds, nil
}
