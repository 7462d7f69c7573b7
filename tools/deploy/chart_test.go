// Package deploy checks deployments/ offline: the Helm chart renders, every
// object it renders decodes strictly into its Kubernetes API type and carries
// what a bank's cluster requires, and the image's binaries build as the
// Dockerfile builds them. It is its own module so that Helm's and
// Kubernetes's dependencies stay out of the service's.
package deploy

import (
	"bufio"
	"bytes"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/lint"
	"helm.sh/helm/v4/pkg/chart/v2/lint/support"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
)

const (
	chartDir = "../../deployments/helm/case-service"
	// The oldest Kubernetes the chart says it supports.
	kubeVersion = "v1.27.0"
)

// rendered is one chart rendering, decoded.
type rendered struct {
	objects []runtime.Object
}

// render renders the chart as helm install would with overrides on top of
// values.yaml, and decodes every object strictly: a field the Kubernetes type
// does not have, or a duplicate one, fails the test.
func render(t *testing.T, overrides map[string]any) rendered {
	t.Helper()
	return renderChart(t, chartDir, overrides)
}

// renderChart is render for the chart in dir.
func renderChart(t *testing.T, dir string, overrides map[string]any) rendered {
	t.Helper()
	chart, err := loader.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	caps := common.DefaultCapabilities.Copy()
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	caps.KubeVersion = *kv
	values, err := util.ToRenderValuesWithSchemaValidation(chart, overrides,
		common.ReleaseOptions{Name: "cases", Namespace: "customer-cases", Revision: 1, IsInstall: true}, caps, false)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(chart, values)
	if err != nil {
		t.Fatal(err)
	}
	strict := json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme.Scheme, scheme.Scheme,
		json.SerializerOptions{Yaml: true, Strict: true})
	var r rendered
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range files {
			if !yield(name) {
				return
			}
		}
	})
	for _, name := range names {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		docs := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(files[name])))
		for {
			doc, err := docs.Read()
			if err != nil {
				break
			}
			if len(bytes.TrimSpace(stripComments(doc))) == 0 {
				continue
			}
			obj, _, err := strict.Decode(doc, nil, nil)
			if err != nil {
				t.Fatalf("%s: %v\n%s", name, err, doc)
			}
			r.objects = append(r.objects, obj)
		}
	}
	return r
}

func stripComments(doc []byte) []byte {
	var out []byte
	for line := range bytes.Lines(doc) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line...)
		}
	}
	return out
}

func all[T runtime.Object](r rendered) []T {
	var found []T
	for _, o := range r.objects {
		if typed, ok := o.(T); ok {
			found = append(found, typed)
		}
	}
	return found
}

func TestChartsLint(t *testing.T) {
	kv, err := common.ParseKubeVersion(kubeVersion)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{chartDir, temporalChartDir} {
		result := lint.RunAll(dir, nil, "customer-cases", lint.WithKubeVersion(kv))
		for _, m := range result.Messages {
			if m.Severity > support.InfoSev {
				t.Error(dir, m)
			}
		}
	}
}

// The three long-running components: each a Deployment whose pods are
// probed, bounded and locked down, with a budget, an autoscaler and a
// network policy that select exactly its pods.
func TestEveryComponentIsDeployedSafely(t *testing.T) {
	r := render(t, nil)
	deployments := all[*appsv1.Deployment](r)
	var names []string
	for _, d := range deployments {
		names = append(names, d.Name)
	}
	if want := []string{"cases-case-service-api", "cases-case-service-worker", "cases-case-service-codec"}; !slices.Equal(names, want) {
		t.Fatalf("deployments %v, want %v", names, want)
	}
	commands := map[string]string{}
	for _, d := range deployments {
		t.Run(d.Name, func(t *testing.T) {
			podLabels := labels.Set(d.Spec.Template.Labels)
			selector, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
			if err != nil || !selector.Matches(podLabels) {
				t.Fatalf("selector %v does not match the pods' labels %v", d.Spec.Selector, podLabels)
			}
			if d.Spec.Replicas != nil {
				t.Error("replicas is set although an autoscaler owns it")
			}
			checkPod(t, d.Spec.Template.Spec, true)
			container := d.Spec.Template.Spec.Containers[0]
			commands[d.Name] = container.Command[0]
			if n := len(budgetsFor(r, podLabels)); n != 1 {
				t.Errorf("%d PodDisruptionBudgets select its pods, want 1", n)
			}
			if !slices.ContainsFunc(all[*autoscalingv2.HorizontalPodAutoscaler](r), func(h *autoscalingv2.HorizontalPodAutoscaler) bool {
				return h.Spec.ScaleTargetRef.Kind == "Deployment" && h.Spec.ScaleTargetRef.Name == d.Name && *h.Spec.MinReplicas >= 2
			}) {
				t.Error("no autoscaler keeps at least 2 replicas of it")
			}
			policy := policyFor(t, r, podLabels)
			if policy == nil {
				t.Fatal("no NetworkPolicy selects its pods")
			}
			port := container.Ports[0].ContainerPort
			for _, rule := range policy.Spec.Ingress {
				for _, p := range rule.Ports {
					if p.Port.IntValue() != int(port) {
						t.Errorf("ingress opens port %s, the pod serves %d", p.Port, port)
					}
				}
			}
		})
	}
	for name, want := range map[string]string{
		"cases-case-service-api": "/usr/local/bin/caseapi", "cases-case-service-worker": "/usr/local/bin/caseworker",
		"cases-case-service-codec": "/usr/local/bin/casecodec",
	} {
		if commands[name] != want {
			t.Errorf("%s runs %q, want %q", name, commands[name], want)
		}
	}
	for _, s := range all[*corev1.Service](r) {
		selector := labels.SelectorFromSet(s.Spec.Selector)
		if !slices.ContainsFunc(deployments, func(d *appsv1.Deployment) bool {
			return selector.Matches(labels.Set(d.Spec.Template.Labels))
		}) {
			t.Errorf("service %s selects no deployment's pods", s.Name)
		}
	}
}

func TestMigrationRunsBeforeEveryInstallAndUpgrade(t *testing.T) {
	jobs := all[*batchv1.Job](render(t, nil))
	if len(jobs) != 1 {
		t.Fatalf("%d jobs, want the migration job", len(jobs))
	}
	job := jobs[0]
	if hook := job.Annotations["helm.sh/hook"]; hook != "pre-install,pre-upgrade" {
		t.Errorf("hook %q", hook)
	}
	spec := job.Spec.Template.Spec
	checkPod(t, spec, false)
	var steps [][]string
	for _, c := range append(spec.InitContainers, spec.Containers...) {
		steps = append(steps, c.Command)
		// A hook runs before the chart's ConfigMap exists.
		for _, from := range c.EnvFrom {
			if from.ConfigMapRef != nil {
				t.Errorf("%s reads ConfigMap %s, which a pre-install hook cannot see", c.Name, from.ConfigMapRef.Name)
			}
		}
		if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool { return e.Name == "TEMPORAL_ADDRESS" }) {
			t.Errorf("%s lacks the service's settings", c.Name)
		}
	}
	want := [][]string{{"/usr/local/bin/casectl", "migrate"}, {"/usr/local/bin/casectl", "temporal", "setup"}}
	if !slices.EqualFunc(steps, want, slices.Equal) {
		t.Errorf("steps %v, want %v", steps, want)
	}
	if spec.ServiceAccountName != "" {
		t.Errorf("the hook uses ServiceAccount %s, which a pre-install hook cannot see", spec.ServiceAccountName)
	}
}

func TestSwitchesRenderToo(t *testing.T) {
	off := map[string]any{"enabled": false}
	r := render(t, map[string]any{
		"networkPolicy":  off,
		"serviceAccount": map[string]any{"create": false},
		"api":            map[string]any{"autoscaling": off},
		"worker":         map[string]any{"autoscaling": off},
		"codec":          map[string]any{"autoscaling": off},
		"image":          map[string]any{"digest": "sha256:" + strings.Repeat("ab", 32)},
	})
	if n := len(all[*networkingv1.NetworkPolicy](r)) + len(all[*autoscalingv2.HorizontalPodAutoscaler](r)) + len(all[*corev1.ServiceAccount](r)); n != 0 {
		t.Errorf("%d policies, autoscalers and accounts rendered while switched off", n)
	}
	for _, d := range all[*appsv1.Deployment](r) {
		if d.Spec.Replicas == nil || *d.Spec.Replicas < 2 {
			t.Errorf("%s: replicas %v without an autoscaler, want at least 2", d.Name, d.Spec.Replicas)
		}
		if image := d.Spec.Template.Spec.Containers[0].Image; !strings.Contains(image, "@sha256:") {
			t.Errorf("%s: image %s, want the digest", d.Name, image)
		}
	}
}

func TestSecretsAreNotValuesOfTheChart(t *testing.T) {
	r := render(t, nil)
	if secrets := all[*corev1.Secret](r); len(secrets) != 0 {
		t.Errorf("the chart renders %d Secrets; secrets come from the bank's secret store", len(secrets))
	}
	for _, c := range all[*corev1.ConfigMap](r) {
		for key := range c.Data {
			for _, secret := range []string{"DATABASE_URL", "CASE_CODEC_KEYS", "PASSWORD", "SECRET", "API_KEY"} {
				if strings.Contains(key, secret) {
					t.Errorf("ConfigMap %s holds %s", c.Name, key)
				}
			}
		}
	}
}

// checkPod holds a pod to the cluster's rules: non-root, read-only root file
// system, no privilege escalation, no capabilities, default seccomp, bounded
// resources, and (for long-running pods) probes on a declared port.
func checkPod(t *testing.T, spec corev1.PodSpec, longRunning bool) {
	t.Helper()
	checkLockedDown(t, spec, nonrootUID)
	for _, c := range append(spec.InitContainers, spec.Containers...) {
		if !strings.HasPrefix(c.Command[0], "/usr/local/bin/") {
			t.Errorf("%s runs %s, not one of the image's commands", c.Name, c.Command[0])
		}
		if !longRunning {
			continue
		}
		for probe, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
			if p == nil || p.HTTPGet == nil {
				t.Errorf("%s: no HTTP %s probe", c.Name, probe)
				continue
			}
			if !slices.ContainsFunc(c.Ports, func(port corev1.ContainerPort) bool { return port.Name == p.HTTPGet.Port.String() }) {
				t.Errorf("%s: %s probe on port %s, which the container does not declare", c.Name, probe, p.HTTPGet.Port.String())
			}
		}
	}
}

// checkLockedDown holds a pod to what every pod of both charts must be: run
// as uid without root, privileges or a service account token, read-only,
// every container with CPU and memory requests and limits.
func checkLockedDown(t *testing.T, spec corev1.PodSpec, uid int64) {
	t.Helper()
	pod := spec.SecurityContext
	if pod == nil || pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot || pod.RunAsUser == nil || *pod.RunAsUser != uid {
		t.Errorf("pod security context %+v: want runAsNonRoot and user %d", pod, uid)
	}
	if pod == nil || pod.SeccompProfile == nil || pod.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod without the RuntimeDefault seccomp profile")
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("the pod mounts a service account token it never uses")
	}
	for _, c := range append(spec.InitContainers, spec.Containers...) {
		s := c.SecurityContext
		switch {
		case s == nil:
			t.Errorf("%s: no security context", c.Name)
		case s.ReadOnlyRootFilesystem == nil || !*s.ReadOnlyRootFilesystem:
			t.Errorf("%s: root file system writable", c.Name)
		case s.AllowPrivilegeEscalation == nil || *s.AllowPrivilegeEscalation:
			t.Errorf("%s: privilege escalation allowed", c.Name)
		case s.Capabilities == nil || !slices.Equal(s.Capabilities.Drop, []corev1.Capability{"ALL"}):
			t.Errorf("%s: capabilities not all dropped", c.Name)
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[r]; !ok {
				t.Errorf("%s: no %s request", c.Name, r)
			}
			if _, ok := c.Resources.Limits[r]; !ok {
				t.Errorf("%s: no %s limit", c.Name, r)
			}
		}
	}
}

func budgetsFor(r rendered, pods labels.Set) []*metav1.LabelSelector {
	var selectors []*metav1.LabelSelector
	for _, b := range all[*policyv1.PodDisruptionBudget](r) {
		if b.Spec.MaxUnavailable == nil && b.Spec.MinAvailable == nil {
			continue
		}
		selector, err := metav1.LabelSelectorAsSelector(b.Spec.Selector)
		if err == nil && selector.Matches(pods) {
			selectors = append(selectors, b.Spec.Selector)
		}
	}
	return selectors
}

func policyFor(t *testing.T, r rendered, pods labels.Set) *networkingv1.NetworkPolicy {
	t.Helper()
	for _, p := range all[*networkingv1.NetworkPolicy](r) {
		selector, err := metav1.LabelSelectorAsSelector(&p.Spec.PodSelector)
		if err != nil {
			t.Fatal(err)
		}
		if selector.Matches(pods) && slices.Contains(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
			return p
		}
	}
	return nil
}
