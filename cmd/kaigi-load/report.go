package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// report is what a scenario measured, printed as tables and optionally
// appended to a Markdown file.
type report struct {
	Scenario   string // e.g. "s2"
	Title      string
	Command    string
	Start      time.Time
	Machine    string
	Node       string
	Client     string
	LoadBefore string
	LoadAfter  string
	Tables     []*table
	Targets    []target
	Notes      []string

	// Results by scenario, for the targets and for tests.
	Density *densityResult
	Phases  []*phaseResult
	Sends   []*sendResult
	Rooms   []*roomResult
}

type table struct {
	Title string
	Head  []string
	Rows  [][]string
}

func (t *table) add(cells ...string) { t.Rows = append(t.Rows, cells) }

// target is a goal and whether the run met it.
type target struct {
	What, Want, Got string
	Met             bool
}

func (r *report) target(what, want, got string, met bool) {
	r.Targets = append(r.Targets, target{what, want, got, met})
}

func (r *report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// text writes the report for a terminal.
func (r *report) text(w io.Writer) {
	fmt.Fprintf(w, "\n== %s: %s (%s)\n", r.Scenario, r.Title, r.Start.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "machine: %s\nnode:    %s\nclient:  %s\nload average: %s before, %s after\n", r.Machine, r.Node, r.Client, r.LoadBefore, r.LoadAfter)
	for _, t := range r.Tables {
		fmt.Fprintf(w, "\n%s\n", t.Title)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, strings.Join(t.Head, "\t")+"\t")
		for _, row := range t.Rows {
			fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
		}
		tw.Flush()
	}
	if len(r.Targets) > 0 {
		fmt.Fprintln(w, "\ntargets:")
		for _, t := range r.Targets {
			mark := "MET   "
			if !t.Met {
				mark = "MISSED"
			}
			fmt.Fprintf(w, "  %s %s: want %s, got %s\n", mark, t.What, t.Want, t.Got)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// markdown writes the report as a section of docs/benchmarks.md.
func (r *report) markdown(w io.Writer) {
	fmt.Fprintf(w, "\n#### `%s` %s — %s\n\n", r.Scenario, r.Title, r.Start.UTC().Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(w, "```sh\n%s\n```\n\n", r.Command)
	fmt.Fprintf(w, "Machine: %s; load average %s before, %s after. Node: %s. Client: %s.\n", r.Machine, r.LoadBefore, r.LoadAfter, r.Node, r.Client)
	for _, t := range r.Tables {
		fmt.Fprintf(w, "\n%s\n\n| %s |\n|", t.Title, strings.Join(t.Head, " | "))
		for range t.Head {
			fmt.Fprint(w, "---|")
		}
		fmt.Fprintln(w)
		for _, row := range t.Rows {
			fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
		}
	}
	if len(r.Targets) > 0 {
		fmt.Fprint(w, "\n| target | want | measured | met |\n|---|---|---|---|\n")
		for _, t := range r.Targets {
			met := "yes"
			if !t.Met {
				met = "**no**"
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s |\n", t.What, t.Want, t.Got, met)
		}
	}
	if len(r.Notes) > 0 {
		fmt.Fprintln(w)
		for _, n := range r.Notes {
			fmt.Fprintf(w, "- %s\n", n)
		}
	}
}

// appendMarkdown appends the report to the file at path.
func (r *report) appendMarkdown(path string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	r.markdown(f)
	return f.Close()
}

// ---- the machine

// machine describes this machine: CPUs, their model, memory, kernel, Go.
func machine() string {
	cpus, model := 0, "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			switch k = strings.TrimSpace(k); {
			case !ok:
			case k == "processor":
				cpus++
			case k == "model name" && model == "unknown CPU":
				model = strings.TrimSpace(v)
			}
		}
	}
	mem := "unknown memory"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "MemTotal:"); ok {
				kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
				mem = fmt.Sprintf("%.1f GiB", kb/(1<<20))
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%d CPUs (%s), %s, Linux %s, %s", cpus, model, mem, strings.TrimSpace(string(kernel)), runtime.Version())
}

// numCPU counts the machine's CPUs, whatever this process's affinity.
func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.NumCPU()
	}
	n := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, _, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "processor" {
			n++
		}
	}
	return max(n, 1)
}

// loadAvg returns the 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], "/")
}

// cpusOf returns the CPUs a process may run on (0: this one).
func cpusOf(pid int) string {
	path := "/proc/self/status"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/status", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "?"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}

// ---- formatting

func ms(d time.Duration) string {
	switch {
	case d <= 0:
		return "–"
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d < time.Second:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// num writes n with thousands separators and the given decimals.
func num(n float64, decimals int) string {
	s := strconv.FormatFloat(n, 'f', decimals, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	neg := strings.HasPrefix(intPart, "-")
	intPart = strings.TrimPrefix(intPart, "-")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

func mib(bytes float64) string { return fmt.Sprintf("%.1f MiB", bytes/(1<<20)) }
func kib(bytes float64) string { return fmt.Sprintf("%.1f KiB", bytes/(1<<10)) }
func pct(f float64) string     { return fmt.Sprintf("%.0f%%", f*100) }

// niceOf returns a process's niceness (field 19 of /proc/<pid>/stat).
func niceOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces: count from the closing parenthesis.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 17 {
		return 0
	}
	n, _ := strconv.Atoi(f[16])
	return n
}
