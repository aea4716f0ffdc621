// Command tformer trains, evaluates and samples from GPT-style transformer
// language models with input–output embedding tying and ALBERT-style
// cross-layer sharing, in pure Go.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/tformer/tformer/checkpoint"
	"github.com/tformer/tformer/internal/textfmt"
	"github.com/tformer/tformer/kernels"
)

func main() {
	root := newRoot()
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "tformer:", err)
		var ex exitError
		if errors.As(err, &ex) {
			os.Exit(ex.code)
		}
		os.Exit(1)
	}
}

// exitError carries a specific exit status (130 for an interrupted run).
type exitError struct {
	err  error
	code int
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "tformer",
		Short: "Transformer language models with weight tying, ALBERT-style layer sharing and exact costs",
		Long: `tformer trains, evaluates and samples from GPT-style transformer language models
in pure Go. Weight sharing is first class: the input embedding can double as the
output projection (--tie), and layers can share their attention and/or FFN weights
in groups (--share, --groups), with the saving reported as unique (stored) versus
applied (used per forward pass) parameters.

Start with:  tformer train            (trains a small model on the built-in corpus)
Then:        tformer generate --model tformer-model.safetensors --prompt "The "`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version(),
	}
	root.SetVersionTemplate("tformer {{.Version}}\n")
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(newTrainCmd(nil), newEvalCmd(nil), newGenerateCmd(nil),
		newCostCmd(nil),
		newConvertCmd(), newTokenizeCmd(), newFillMaskCmd(),
		newProfileCmd(nil),
		newBenchCmd(nil),
		newPlotCmd(nil),
		newServeCmd(),
	)
	return root
}

// maxThreads bounds --threads: far more than any CPU's cores, few enough
// that the kernels' worker pools stay small.
const maxThreads = 1024

// addThreadsFlag registers --threads on cmd and returns a func applying it.
func addThreadsFlag(cmd *cobra.Command) func() error {
	n := cmd.Flags().Int("threads", 0, "worker threads for the kernels (0: all cores)")
	return func() error { return applyThreads(*n) }
}

// applyThreads sets the kernels' worker threads (0: all cores).
func applyThreads(n int) error {
	if n < 0 {
		return fmt.Errorf("--threads must be >= 0, got %d", n)
	}
	if n > maxThreads {
		return fmt.Errorf("--threads must be at most %d, got %d", maxThreads, n)
	}
	if n > 0 {
		runtime.GOMAXPROCS(n)
	}
	kernels.SetThreads(n)
	return nil
}

// commas formats n with thousands separators.
func commas(n int64) string { return textfmt.Commas(n) }

// version says what this binary is: the module version `go install`
// recorded, or "devel" with the VCS revision and commit time when the
// build stamped them (go build in a checkout), or, when nothing was stamped
// (go run, go test, -buildvcs=false), "devel" and why; then the Go
// version, platform, kernels and checkpoint format.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = &debug.BuildInfo{}
	}
	return versionOf(bi, runtime.Version(), kernels.Accel())
}

// versionOf is version for given build information.
func versionOf(bi *debug.BuildInfo, goVersion, accel string) string {
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	var rev, when, dirty, amd64 string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		case "GOAMD64":
			amd64 = "/" + s.Value
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	switch {
	case rev != "":
		v += " " + rev + dirty
		if when != "" {
			v += " (" + when + ")"
		}
	case v == "devel":
		v += " (no VCS revision recorded: go run, go test and -buildvcs=false builds record none)"
	}
	goos, goarch := runtime.GOOS, runtime.GOARCH
	if bi.GoVersion != "" {
		goVersion = bi.GoVersion
	}
	return fmt.Sprintf("%s, %s %s/%s%s, kernels %s, checkpoints %s", v, goVersion, goos, goarch, amd64, accel, checkpoint.Format)
}
