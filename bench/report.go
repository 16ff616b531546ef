package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// JSONEmitter returns an emit function for Run that writes each line as one
// JSON object on its own line.
func JSONEmitter(w io.Writer) func(Line) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return func(l Line) error { return enc.Encode(l) }
}

// WriteTable writes lines as a table for people.
func WriteTable(w io.Writer, lines []Line) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "METRIC\tVALUE\tBASELINE\tRATIO\tTARGET\tMET\tNAME / BASELINE")
	for _, l := range lines {
		value := strconv.FormatFloat(l.Value, 'f', -1, 64) + " " + l.Unit
		base, ratio, met := "-", "-", "-"
		if l.Baseline != nil {
			base = strconv.FormatFloat(*l.Baseline, 'f', -1, 64)
		}
		if l.Ratio != nil {
			ratio = strconv.FormatFloat(*l.Ratio, 'f', -1, 64) + "×"
		}
		if l.Met != nil {
			met = map[bool]string{true: "yes", false: "NO"}[*l.Met]
		}
		if l.Skipped != "" {
			base = "skipped"
		}
		target := l.Target
		if target == "" {
			target = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", l.Metric, value, base, ratio, target, met, l.Name)
		if l.BaselineName != "" {
			fmt.Fprintf(tw, "\t\t\t\t\t\t  vs %s\n", l.BaselineName)
		}
		if l.Skipped != "" {
			fmt.Fprintf(tw, "\t\t\t\t\t\t  %s\n", l.Skipped)
		}
		if l.Note != "" {
			fmt.Fprintf(tw, "\t\t\t\t\t\t  (%s)\n", l.Note)
		}
	}
	return tw.Flush()
}
