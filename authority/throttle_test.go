package authority

import (
	"testing"
	"time"
)

// TestThrottleWait: no wait before the threshold, then the base doubled
// with each failure, never above the maximum.
func TestThrottleWait(t *testing.T) {
	th := throttle{}
	th.defaults()
	for _, tt := range []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {4, 0}, {5, time.Minute}, {6, 2 * time.Minute}, {7, 4 * time.Minute},
		{15, 1024 * time.Minute}, {16, 24 * time.Hour}, {1 << 30, 24 * time.Hour},
	} {
		if got := th.wait(tt.failures); got != tt.want {
			t.Errorf("wait after %d failures: %v, want %v", tt.failures, got, tt.want)
		}
	}
}
