package deploy

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const (
	dockerfile = "../../deployments/Dockerfile"
	// The uid of distroless's nonroot user, whom the Dockerfile's USER names
	// and the chart's pods run as.
	nonrootUID = 65532
)

// Where no container engine exists, the image's binaries are built by the
// Dockerfile's own go build line, flags and all, and checked to be what the
// distroless static base can run: static executables, one per command the
// chart and the Dockerfile name.
func TestImageBuildsAsTheDockerfileSays(t *testing.T) {
	raw, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	build := regexp.MustCompile(`(?m)^RUN (CGO_ENABLED=0 go build .* -o /out/ \./cmd/\.\.\.)$`).FindStringSubmatch(text)
	if build == nil {
		t.Fatal("no `RUN CGO_ENABLED=0 go build ... -o /out/ ./cmd/...` line in the Dockerfile")
	}
	for _, want := range []string{
		"FROM gcr.io/distroless/static-debian12:nonroot",
		"COPY --from=build /out/ /usr/local/bin/",
		"USER nonroot:nonroot",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
	entrypoint := regexp.MustCompile(`(?m)^ENTRYPOINT \["(/usr/local/bin/[a-z]+)"\]$`).FindStringSubmatch(text)
	if entrypoint == nil {
		t.Fatal("no ENTRYPOINT of a binary in /usr/local/bin")
	}

	out := t.TempDir()
	cmd := exec.Command("sh", "-c", strings.Replace(build[1], "/out/", out+"/", 1))
	cmd.Dir = "../.."
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", build[1], err, output)
	}
	built, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range built {
		names = append(names, b.Name())
		checkStatic(t, filepath.Join(out, b.Name()))
	}
	if want := []string{"caseapi", "casecodec", "casectl", "caseworker"}; !slices.Equal(names, want) {
		t.Errorf("built %v, want %v", names, want)
	}
	if !slices.Contains(names, filepath.Base(entrypoint[1])) {
		t.Errorf("ENTRYPOINT %s is not built", entrypoint[1])
	}
}

// checkStatic fails unless path is an executable that needs no dynamic
// loader (distroless static has none) and carries no symbol table (-s -w).
func checkStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("%s is linked dynamically", filepath.Base(path))
		}
	}
	if f.Section(".symtab") != nil {
		t.Errorf("%s keeps its symbol table; the Dockerfile strips it", filepath.Base(path))
	}
}
