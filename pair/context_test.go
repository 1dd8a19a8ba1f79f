package pair_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nettrace/nettrace/pair"
)

// TestAnalyzeFilesContext: a done context stops the comparison with its
// error and no report; a live one compares as AnalyzeFiles does.
func TestAnalyzeFilesContext(t *testing.T) {
	a, b := "../testdata/pair/c01-synack-payload-client.pcap", "../testdata/pair/c01-synack-payload-server.pcap"
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if rep, err := pair.AnalyzeFilesContext(ctx, a, b, pair.Options{}); !errors.Is(err, context.Canceled) || rep != nil {
		t.Errorf("done context: report %v, err %v; want none and context.Canceled", rep != nil, err)
	}
	got, err := pair.AnalyzeFilesContext(context.Background(), a, b, pair.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, err := pair.AnalyzeFiles(a, b, pair.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Matches) == 0 || len(got.Matches) != len(want.Matches) || len(got.Events) != len(want.Events) {
		t.Errorf("%d matches, %d events; AnalyzeFiles: %d, %d", len(got.Matches), len(got.Events), len(want.Matches), len(want.Events))
	}
}

// Stop comparing two captures when the context is done.
func ExampleAnalyzeFilesContext() {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := pair.AnalyzeFilesContext(ctx, "../testdata/pair/c01-synack-payload-client.pcap", "../testdata/pair/c01-synack-payload-server.pcap", pair.Options{})
	fmt.Println(err)
	// Output:
	// context canceled
}
