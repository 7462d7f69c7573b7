// Package bench holds casectl's measuring commands and the load engine they
// share.
package bench

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/bank/caseservice/config"
	"github.com/bank/caseservice/internal/reconcile"
	"github.com/bank/caseservice/store"
)

// OpenReconciler opens Postgres and Temporal for fn, as casectl reconcile does.
type OpenReconciler func(ctx context.Context, fn func(*store.Store, *reconcile.Reconciler) error) error

// Commands are casectl's measuring commands.
func Commands(cfg config.Config, open OpenReconciler) []*cobra.Command {
	return []*cobra.Command{benchCommand(cfg), loadCommand(cfg), verifyCommand(open), recoveryCommand(), floorServerCommand(cfg)}
}
