package replay

import (
	"errors"
	"testing"
	"time"
)

var t0 = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)

func TestWindowCheck(t *testing.T) {
	now := t0
	tests := []struct {
		name    string
		w       Window
		created time.Time
		want    error
	}{
		{"zero MaxAge accepts any age", Window{}, now.AddDate(-30, 0, 0), nil},
		{"zero MaxAge accepts the epoch", Window{}, time.Unix(0, 0), nil},
		{"zero MaxAge still refuses the far future", Window{}, now.Add(DefaultSkew + time.Second), ErrFuture},
		{"now", Window{MaxAge: time.Hour}, now, nil},
		{"exactly MaxAge old", Window{MaxAge: time.Hour}, now.Add(-time.Hour), nil},
		{"just older than MaxAge", Window{MaxAge: time.Hour}, now.Add(-time.Hour - time.Second), ErrTooOld},
		{"much too old", Window{MaxAge: time.Hour}, now.AddDate(-1, 0, 0), ErrTooOld},
		{"within the default skew", Window{MaxAge: time.Hour}, now.Add(4 * time.Minute), nil},
		{"exactly the default skew", Window{MaxAge: time.Hour}, now.Add(DefaultSkew), nil},
		{"beyond the default skew", Window{MaxAge: time.Hour}, now.Add(DefaultSkew + time.Second), ErrFuture},
		{"within a custom skew", Window{MaxAge: time.Hour, Skew: time.Second}, now.Add(time.Second), nil},
		{"beyond a custom skew", Window{MaxAge: time.Hour, Skew: time.Second}, now.Add(2 * time.Second), ErrFuture},
		{"a custom skew larger than the default", Window{Skew: time.Hour}, now.Add(59 * time.Minute), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.w.Check(tt.created, now)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Check = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
			for _, other := range []error{ErrTooOld, ErrFuture, ErrReplay} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("Check = %v, which is also %v", err, other)
				}
			}
		})
	}
}
