package deploy

import (
	"os"
	"regexp"
	"strconv"
	"testing"

	"sigs.k8s.io/yaml"
)

// The values for Temporal's official chart describe the cluster make cluster
// runs: the same shard count, stores and number of pods per service.
func TestTemporalChartValuesMatchTheLocalCluster(t *testing.T) {
	raw, err := os.ReadFile("../../deployments/temporal/helm-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	type store struct {
		Driver string `json:"driver"`
		SQL    struct {
			Driver   string `json:"driver"`
			Database string `json:"database"`
		} `json:"sql"`
	}
	type service struct {
		ReplicaCount int `json:"replicaCount"`
	}
	var values struct {
		Server struct {
			Config struct {
				NumHistoryShards int `json:"numHistoryShards"`
				Persistence      struct {
					Default    store `json:"default"`
					Visibility store `json:"visibility"`
				} `json:"persistence"`
			} `json:"config"`
			Frontend service `json:"frontend"`
			History  service `json:"history"`
			Matching service `json:"matching"`
			Worker   service `json:"worker"`
		} `json:"server"`
		Elasticsearch struct {
			Enabled bool `json:"enabled"`
		} `json:"elasticsearch"`
	}
	// Only the fields read here: the rest belong to the official chart.
	if err := yaml.Unmarshal(raw, &values); err != nil {
		t.Fatal(err)
	}

	template, err := os.ReadFile(temporalChartDir + "/config/cluster.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defaultOf := func(key string) string {
		m := regexp.MustCompile(key+`: \{\{ default "([^"]+)"`).FindAllSubmatch(template, -1)
		if len(m) == 0 {
			t.Fatalf("cluster.yaml sets no default %s", key)
		}
		return string(m[0][1])
	}
	shards, _ := strconv.Atoi(defaultOf("numHistoryShards"))
	config := values.Server.Config
	if config.NumHistoryShards != shards {
		t.Errorf("numHistoryShards %d, cluster.yaml %d", config.NumHistoryShards, shards)
	}
	databases := regexp.MustCompile(`databaseName: \{\{ default "([^"]+)"`).FindAllSubmatch(template, -1)
	if len(databases) != 2 {
		t.Fatalf("cluster.yaml names %d databases, want 2", len(databases))
	}
	for i, s := range []store{config.Persistence.Default, config.Persistence.Visibility} {
		if s.Driver != "sql" || s.SQL.Driver != "postgres12" || s.SQL.Database != string(databases[i][1]) {
			t.Errorf("store %d: %+v, want sql/postgres12 on %s", i, s, databases[i][1])
		}
	}
	if values.Elasticsearch.Enabled {
		t.Error("elasticsearch is on; visibility is on Postgres")
	}

	local := makeClusterProcesses(t)
	for name, s := range map[string]service{
		"frontend": values.Server.Frontend, "history": values.Server.History,
		"matching": values.Server.Matching, "worker": values.Server.Worker,
	} {
		if s.ReplicaCount != local[name] {
			t.Errorf("%s: %d replicas, make cluster runs %d", name, s.ReplicaCount, local[name])
		}
	}
}
