package htmlreport

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// chart draws one inline SVG graph: axes with ticks and unit labels, a
// legend, and paths whose look comes from the page's style sheet (class
// names), which keeps each graph small.
type chart struct {
	kind           string // the data-graph attribute
	label          string // aria-label: what the graph shows
	xLabel, yLabel string // axis titles, with units
	x0, x1, y0, y1 float64
	yFormat        func(float64) string
	xMul           float64 // x tick labels show v × xMul (1000: seconds shown as ms)
	body           strings.Builder
	legend         []legendItem
}

type legendItem struct {
	class, label string
	mark         bool // a marker rather than a line
}

// Geometry of every graph, in SVG user units.
const (
	chartW, chartH                     = 760.0, 290.0
	marginL, marginR, marginT, marginB = 70.0, 16.0, 40.0, 42.0
)

func newChart(kind, label, xLabel, yLabel string, x0, x1, y0, y1 float64) *chart {
	if x1 <= x0 {
		x1 = x0 + 1
	}
	if y1 <= y0 {
		y1 = y0 + 1
	}
	c := &chart{kind: kind, label: label, xLabel: xLabel, yLabel: yLabel, x0: x0, x1: x1, y0: y0, y1: y1, yFormat: shortNumber, xMul: 1}
	if strings.HasSuffix(xLabel, "(s)") && x1 < 2 {
		c.xMul, c.xLabel = 1000, strings.TrimSuffix(xLabel, "(s)")+"(ms)"
	}
	return c
}

// X and Y map data values to SVG coordinates.
func (c *chart) X(v float64) float64 {
	return marginL + (v-c.x0)/(c.x1-c.x0)*(chartW-marginL-marginR)
}

func (c *chart) Y(v float64) float64 {
	return chartH - marginB - (v-c.y0)/(c.y1-c.y0)*(chartH-marginT-marginB)
}

// path adds one path element of class class built by d (SVG path data).
func (c *chart) path(class, d string) {
	if d == "" {
		return
	}
	fmt.Fprintf(&c.body, `<path class="%s" d="%s"/>`, class, d)
}

// segments returns path data of vertical segments, one per (t, from, to).
func (c *chart) segments(items [][3]float64) string {
	var b strings.Builder
	for _, it := range items {
		y0, y1 := c.Y(it[1]), c.Y(it[2])
		if y0-y1 < 1 { // at least one unit tall, so that each segment shows
			y1 = y0 - 1
		}
		fmt.Fprintf(&b, "M%s %sV%s", num(c.X(it[0])), num(y0), num(y1))
	}
	return b.String()
}

// steps returns path data of a step line through pts (the value holds
// until the next point), or of a plain line when step is false.
func (c *chart) steps(pts []point, step bool) string {
	var b strings.Builder
	for i, p := range pts {
		x, y := num(c.X(p.t)), num(c.Y(p.v))
		switch {
		case i == 0:
			fmt.Fprintf(&b, "M%s %s", x, y)
		case step:
			fmt.Fprintf(&b, "H%sV%s", x, y)
		default:
			fmt.Fprintf(&b, "L%s %s", x, y)
		}
	}
	return b.String()
}

// markers returns path data of small diamonds at pts.
func (c *chart) markers(pts []point) string {
	var b strings.Builder
	for _, p := range pts {
		fmt.Fprintf(&b, "M%s %sl4 4l-4 4l-4-4z", num(c.X(p.t)), num(c.Y(p.v)-4))
	}
	return b.String()
}

// bars returns path data of bars from base to top at each point, w wide.
func (c *chart) bars(items [][3]float64, w float64) string {
	var b strings.Builder
	for _, it := range items {
		x, y0, y1 := c.X(it[0])-w/2, c.Y(it[1]), c.Y(it[2])
		if y0-y1 < 0.5 {
			continue
		}
		fmt.Fprintf(&b, "M%s %sh%sV%sh-%sz", num(x), num(y0), num(w), num(y1), num(w))
	}
	return b.String()
}

func (c *chart) addLegend(class, label string, mark bool) {
	c.legend = append(c.legend, legendItem{class, label, mark})
}

// svg returns the graph: frame, grid and ticks, the paths, axis titles and
// the legend.
func (c *chart) svg() string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="graph" data-graph="%s" role="img" aria-label="%s" viewBox="0 0 %d %d" width="%d" height="%d" xmlns="http://www.w3.org/2000/svg">`,
		c.kind, html.EscapeString(c.label), int(chartW), int(chartH), int(chartW), int(chartH))
	c.axes(&b)
	b.WriteString(`<g class="plot">`)
	b.WriteString(c.body.String())
	b.WriteString(`</g>`)
	c.drawLegend(&b)
	b.WriteString(`</svg>`)
	return b.String()
}

func (c *chart) axes(b *strings.Builder) {
	left, right, top, bottom := marginL, chartW-marginR, marginT, chartH-marginB
	fmt.Fprintf(b, `<rect class="frame" x="%s" y="%s" width="%s" height="%s"/>`, num(left), num(top), num(right-left), num(bottom-top))
	for _, v := range ticks(c.x0*c.xMul, c.x1*c.xMul, 8) {
		x := num(c.X(v / c.xMul))
		fmt.Fprintf(b, `<path class="grid" d="M%s %sV%s"/><text class="tick" x="%s" y="%s" text-anchor="middle">%s</text>`,
			x, num(top), num(bottom), x, num(bottom+14), shortNumber(v))
	}
	for _, v := range ticks(c.y0, c.y1, 6) {
		y := num(c.Y(v))
		fmt.Fprintf(b, `<path class="grid" d="M%s %sH%s"/><text class="tick" x="%s" y="%s" text-anchor="end">%s</text>`,
			num(left), y, num(right), num(left-4), num(c.Y(v)+4), html.EscapeString(c.yFormat(v)))
	}
	fmt.Fprintf(b, `<text class="axis" x="%s" y="%s" text-anchor="middle">%s</text>`, num((left+right)/2), num(chartH-6), html.EscapeString(c.xLabel))
	fmt.Fprintf(b, `<text class="axis" transform="translate(14 %s) rotate(-90)" text-anchor="middle">%s</text>`, num((top+bottom)/2), html.EscapeString(c.yLabel))
}

func (c *chart) drawLegend(b *strings.Builder) {
	x, y := marginL, 0.0
	b.WriteString(`<g class="legend">`)
	for _, it := range c.legend {
		w := 26 + 6.2*float64(len([]rune(it.label)))
		if x+w > chartW && x > marginL { // next row
			x, y = marginL, y+14
		}
		if it.mark {
			fmt.Fprintf(b, `<path class="%s" d="M%s %sl4 4l-4 4l-4-4z"/>`, it.class, num(x+5), num(y+5))
		} else {
			fmt.Fprintf(b, `<path class="%s" d="M%s %sh16"/>`, it.class, num(x-2), num(y+9))
		}
		fmt.Fprintf(b, `<text x="%s" y="%s">%s</text>`, num(x+18), num(y+13), html.EscapeString(it.label))
		x += w
	}
	b.WriteString(`</g>`)
}

// num formats a coordinate with one decimal.
func num(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// ticks returns about n round values spanning [lo, hi].
func ticks(lo, hi float64, n int) []float64 {
	span := hi - lo
	if span <= 0 || n < 1 {
		return []float64{lo}
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		out = append(out, v)
	}
	return out
}

// shortNumber prints v with a k/M/G suffix.
func shortNumber(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return trim(v/1e9) + "G"
	case a >= 1e6:
		return trim(v/1e6) + "M"
	case a >= 1e4:
		return trim(v/1e3) + "k"
	}
	return trim(v)
}

func trim(v float64) string {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
