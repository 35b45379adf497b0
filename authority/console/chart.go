package console

import (
	"context"
	"fmt"
	"time"

	"github.com/keyblob/keyblob/authority/api"
)

// A chart is a bar chart of one kind of entry per UTC day over the last
// chartDays days, drawn by the template as inline SVG (server-rendered:
// no script, and the style sheet colours it).
type chart struct {
	ID, Title string
	Total     int
	Max       int
	Bars      []bar
	First     string // the first day's date
	Last      string
}

// bar is one day's: its place in the 300×100 view box and its label.
type bar struct {
	X, Y, W, H float64
	Label      string
}

// chartKinds are the charted kinds, in order.
var chartKinds = []struct {
	kind  api.AuditKind
	title string
}{
	{api.AuditDeposit, "Deposits"},
	{api.AuditRecoveryRequest, "Recovery requests"},
	{api.AuditRecovery, "Recoveries completed"},
	{api.AuditCodeAttempt, "Code attempts"},
}

// charts reads the per-day counts since chartDays ago and draws them.
func (c *Console) charts(ctx context.Context, now time.Time) ([]chart, error) {
	first := now.UTC().Truncate(24 * time.Hour).Add(-(chartDays - 1) * 24 * time.Hour)
	kinds := make([]api.AuditKind, len(chartKinds))
	for i, k := range chartKinds {
		kinds[i] = k.kind
	}
	days, err := c.svc.Reports().DailyCounts(ctx, first, kinds)
	if err != nil {
		return nil, err
	}
	out := make([]chart, len(chartKinds))
	for i, k := range chartKinds {
		per := make([]int, chartDays)
		for _, d := range days {
			if n := int(d.Day.Sub(first) / (24 * time.Hour)); n >= 0 && n < chartDays {
				per[n] += d.Counts[k.kind]
			}
		}
		out[i] = draw(fmt.Sprintf("chart-%d", i), k.title, first, per)
	}
	return out, nil
}

// draw lays the bars of per, one per day from first, out in the view
// box: the highest bar is 100 high.
func draw(id, title string, first time.Time, per []int) chart {
	c := chart{ID: id, Title: title, First: first.Format("Jan 2"),
		Last: first.Add(time.Duration(len(per)-1) * 24 * time.Hour).Format("Jan 2")}
	for _, n := range per {
		c.Total += n
		c.Max = max(c.Max, n)
	}
	w := 300 / float64(len(per))
	for i, n := range per {
		h := 0.0
		if c.Max > 0 {
			h = 100 * float64(n) / float64(c.Max)
		}
		day := first.Add(time.Duration(i) * 24 * time.Hour)
		c.Bars = append(c.Bars, bar{X: float64(i)*w + 1, Y: 100 - h, W: w - 2, H: h,
			Label: fmt.Sprintf("%s: %d", day.Format("2006-01-02"), n)})
	}
	return c
}
