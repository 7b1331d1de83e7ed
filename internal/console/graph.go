package console

import (
	"fmt"
	"strings"

	"github.com/manifoldgw/manifold/internal/pipeline"
)

// Step graph geometry (SVG user units). The layout is layered: a step's
// column is one past the deepest step it needs, so every `needs` edge
// goes left to right; steps of one column stack in declaration order.
// Demo-sized pipelines need nothing cleverer (no crossing minimisation),
// which is why no layout library is embedded.
const (
	nodeW  = 190
	nodeH  = 70
	gapX   = 56
	gapY   = 20
	margin = 12
)

// graphNode is one step drawn as a box.
type graphNode struct {
	Name, Upstream string
	Marks          string // foreach, optional, when, cache TTL
	X, Y           int
	Foreach        bool
	Optional       bool
	When           bool
	Cache          bool
}

// graphEdge is a `needs` edge: From must finish before To starts.
type graphEdge struct {
	From, To string
	Path     string // the SVG path
}

// stepGraph is a pipeline's steps laid out for SVG.
type stepGraph struct {
	Pipeline  string
	W, H      int
	NodeW     int
	NodeH     int
	Nodes     []graphNode
	Edges     []graphEdge
	Described string // a text summary for assistive technology
}

// graphOf lays out p's steps.
func graphOf(p *pipeline.Compiled) stepGraph {
	layer := map[string]int{}
	var depth func(name string) int
	depth = func(name string) int {
		if d, ok := layer[name]; ok {
			return d
		}
		d := 0
		if st := p.Steps[name]; st != nil {
			for _, n := range st.Needs {
				d = max(d, depth(n)+1)
			}
		}
		layer[name] = d
		return d
	}
	rows := map[int]int{}
	g := stepGraph{Pipeline: p.Name, NodeW: nodeW, NodeH: nodeH}
	pos := map[string]graphNode{}
	for _, name := range p.StepOrder {
		st := p.Steps[name]
		col := depth(name)
		n := graphNode{
			Name: name, Upstream: st.Upstream, X: margin + col*(nodeW+gapX), Y: margin + rows[col]*(nodeH+gapY),
			Foreach: st.Foreach != nil, Optional: st.Optional, When: st.When != nil, Cache: st.Cache > 0,
		}
		rows[col]++
		n.Marks = marks(st)
		pos[name] = n
		g.Nodes = append(g.Nodes, n)
		g.W = max(g.W, n.X+nodeW+margin)
		g.H = max(g.H, n.Y+nodeH+margin)
	}
	var summary []string
	for _, name := range p.StepOrder {
		to := pos[name]
		for _, need := range p.Steps[name].Needs {
			from := pos[need]
			x1, y1, x2, y2 := from.X+nodeW, from.Y+nodeH/2, to.X, to.Y+nodeH/2
			mid := (x1 + x2) / 2
			g.Edges = append(g.Edges, graphEdge{From: need, To: name,
				Path: fmt.Sprintf("M%d %d C%d %d %d %d %d %d", x1, y1, mid, y1, mid, y2, x2-6, y2)})
		}
		if needs := p.Steps[name].Needs; len(needs) > 0 {
			summary = append(summary, name+" needs "+strings.Join(needs, ", "))
		}
	}
	g.Described = fmt.Sprintf("%d steps. %s", len(p.StepOrder), strings.Join(summary, "; "))
	return g
}

// marks is the line under a step's upstream: what makes it special.
func marks(st *pipeline.Step) string {
	var m []string
	if st.Foreach != nil {
		m = append(m, "foreach")
	}
	if st.When != nil {
		m = append(m, "when")
	}
	if st.Optional {
		m = append(m, "optional")
	}
	if st.Cache > 0 {
		m = append(m, "cache "+st.Cache.D().String())
	}
	return strings.Join(m, " · ")
}
