//go:build crashpoints

package crash

import (
	"strconv"
	"sync"
)

var (
	mu     sync.Mutex
	passes = map[string]int{}
)

// nextPassage counts the passages through a point: "1" the first time.
func nextPassage(name string) string {
	mu.Lock()
	defer mu.Unlock()
	passes[name]++
	return strconv.Itoa(passes[name])
}
