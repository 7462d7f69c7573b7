package contract_test

import (
	"flag"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/bank/caseservice/api"
	"github.com/bank/caseservice/api/contract"
)

var update = flag.Bool("update", false, "rewrite api/openapi.json from api/openapi.yaml")

// TestServedJSONMatchesTheYAML keeps the generated api/openapi.json equal to
// the contract (make generate runs it with -update).
func TestServedJSONMatchesTheYAML(t *testing.T) {
	want, err := contract.JSON()
	require.NoError(t, err)
	if *update {
		require.NoError(t, os.WriteFile("../openapi.json", want, 0o644))
		return
	}
	require.JSONEq(t, string(want), string(api.OpenAPIJSON), "api/openapi.json is stale: run make generate")
}
