package defaults

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type inner struct{ Depth, Elements int }

type config struct {
	Max     int
	Timeout time.Duration
	Share   float64
	Small   uint16
	Name    string
	On      bool
	Nested  inner
	hidden  int
}

func TestFill(t *testing.T) {
	def := config{Max: 10, Timeout: time.Second, Share: 0.8, Small: 7, Name: "def", On: true, Nested: inner{4, 64}, hidden: 9}
	got := config{Max: -1, Timeout: 3 * time.Second, Nested: inner{Elements: 2}, hidden: 0}
	Fill(&got, def)
	want := config{Max: 10, Timeout: 3 * time.Second, Share: 0.8, Small: 7, Nested: inner{4, 2}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(config{})); diff != "" {
		t.Errorf("Fill (-want +got):\n%s", diff)
	}
}
