package deploy

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

const (
	temporalChartDir = "../../deployments/helm/temporal"
	// temporalUID is the temporal user of Temporal's images.
	temporalUID = 1000
)

// makeClusterProcesses counts the processes per Temporal service that
// scripts/cluster starts.
func makeClusterProcesses(t *testing.T) map[string]int {
	t.Helper()
	script, err := os.ReadFile("../../scripts/cluster")
	if err != nil {
		t.Fatal(err)
	}
	local := map[string]int{}
	for _, m := range regexp.MustCompile(`(?m)^server temporal-\S+ (\w+) `).FindAllSubmatch(script, -1) {
		local[string(m[1])]++
	}
	return local
}

// TestTemporalChartRunsTheClusterTemplate: the Kubernetes side of the
// Temporal cluster runs the file make cluster runs, as one ConfigMap that
// every server pod mounts, one Deployment per service with as many pods as
// make cluster starts processes, each pod giving the template every value
// it reads for that service, locked down, probed and budgeted.
func TestTemporalChartRunsTheClusterTemplate(t *testing.T) {
	r := renderChart(t, temporalChartDir, nil)
	template, err := os.ReadFile(temporalChartDir + "/config/cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	configs := all[*corev1.ConfigMap](r)
	if len(configs) != 1 || configs[0].Data["cluster.yaml"] != string(template) {
		t.Fatalf("want one ConfigMap holding config/cluster.yaml byte for byte, got %d", len(configs))
	}
	if secrets := all[*corev1.Secret](r); len(secrets) > 0 {
		t.Errorf("the chart renders %d Secrets; the database password comes from an existing one", len(secrets))
	}
	// Every variable the template reads; the ports of the other services are
	// each set by that service's pods.
	var read []string
	for _, m := range regexp.MustCompile(`env "([A-Z_]+)"`).FindAllSubmatch(template, -1) {
		if name := string(m[1]); !slices.Contains(read, name) {
			read = append(read, name)
		}
	}
	services := []string{"frontend", "history", "matching", "worker"}
	portOf := regexp.MustCompile(`^TEMPORAL_(FRONTEND|HISTORY|MATCHING|WORKER)_(GRPC|MEMBERSHIP|HTTP)_PORT$`)

	processes := makeClusterProcesses(t)
	deployments := map[string]*appsv1.Deployment{}
	for _, d := range all[*appsv1.Deployment](r) {
		deployments[d.Labels["app.kubernetes.io/component"]] = d
	}
	for _, service := range services {
		d := deployments[service]
		if d == nil {
			t.Errorf("no Deployment of %s", service)
			continue
		}
		if d.Spec.Replicas == nil || int(*d.Spec.Replicas) != processes[service] {
			t.Errorf("%s: %v pods, make cluster runs %d processes", service, d.Spec.Replicas, processes[service])
		}
		spec := d.Spec.Template.Spec
		checkLockedDown(t, spec, temporalUID)
		c := spec.Containers[0]
		if args := strings.Join(c.Command, " "); !strings.Contains(args, "--config /etc/temporal/cluster --env cluster") ||
			!strings.HasSuffix(args, "start --service "+service) {
			t.Errorf("%s runs %q, not the cluster template for its service", service, args)
		}
		if !slices.ContainsFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/etc/temporal/cluster" }) ||
			!slices.ContainsFunc(spec.Volumes, func(v corev1.Volume) bool {
				return v.ConfigMap != nil && v.ConfigMap.Name == configs[0].Name
			}) {
			t.Errorf("%s does not mount the config map at /etc/temporal/cluster", service)
		}
		set := map[string]bool{}
		for _, e := range c.Env {
			set[e.Name] = true
		}
		for _, name := range read {
			if m := portOf.FindStringSubmatch(name); m != nil && strings.ToLower(m[1]) != service {
				continue
			}
			if m := portOf.FindStringSubmatch(name); m != nil && m[2] == "HTTP" && service != "frontend" {
				continue
			}
			if !set[name] {
				t.Errorf("%s: the template reads %s, which the pod does not set (its default is for one machine)", service, name)
			}
		}
		if c.ReadinessProbe == nil || c.LivenessProbe == nil {
			t.Errorf("%s: readiness and liveness probes wanted", service)
		}
		if processes[service] > 1 && len(budgetsFor(r, labels.Set(d.Spec.Selector.MatchLabels))) != 1 {
			t.Errorf("%s: no PodDisruptionBudget for its %d pods", service, processes[service])
		}
	}
	if ui := deployments["ui"]; ui == nil {
		t.Error("no Temporal UI")
	} else {
		checkLockedDown(t, ui.Spec.Template.Spec, temporalUID)
	}

	jobs := all[*batchv1.Job](r)
	if len(jobs) != 1 || !strings.Contains(jobs[0].Annotations["helm.sh/hook"], "pre-install") ||
		!strings.Contains(jobs[0].Annotations["helm.sh/hook"], "pre-upgrade") {
		t.Fatalf("want one schema Job run before install and upgrade, got %d", len(jobs))
	}
	checkLockedDown(t, jobs[0].Spec.Template.Spec, temporalUID)
	script := strings.Join(jobs[0].Spec.Template.Spec.Containers[0].Args, "\n")
	for _, step := range []string{"setup-schema -v 0.0", "update-schema --schema-name \"postgresql/v12/$dir\""} {
		if !strings.Contains(script, step) {
			t.Errorf("the schema Job does not run %s", step)
		}
	}
}
