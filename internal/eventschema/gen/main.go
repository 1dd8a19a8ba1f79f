// Command gen writes docs/events.md, the event schema document, from
// health/kinds.go and docs/events-observed.json (see package eventschema).
// It runs from the health directory through `go generate ./health`.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"

	"github.com/nettrace/nettrace/internal/eventschema"
)

func main() {
	kindsPath := flag.String("kinds", "kinds.go", "health/kinds.go")
	observedPath := flag.String("observed", "../docs/events-observed.json", "observed types and examples")
	out := flag.String("o", "../docs/events.md", "the document to write")
	flag.Parse()
	doc, err := Document(*kindsPath, *observedPath)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, doc, 0o644); err != nil {
		log.Fatal(err)
	}
}

// Document renders the schema document from the two files.
func Document(kindsPath, observedPath string) ([]byte, error) {
	src, err := os.ReadFile(kindsPath)
	if err != nil {
		return nil, err
	}
	observed := eventschema.Observed{}
	b, err := os.ReadFile(observedPath)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &observed); err != nil {
		return nil, fmt.Errorf("%s: %w", observedPath, err)
	}
	return eventschema.Document(src, observed)
}
