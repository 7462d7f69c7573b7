package store

import (
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/bank/caseservice/casefile"
	"github.com/bank/caseservice/store/internal/queries"
)

// Case rows scan into sqlc's queries.Case as its generated methods would; the
// store runs the statements itself so that reads can be batched (lookups.go).

// caseColumns is the number of columns of cases; a listing's rows carry their
// total count (and a customer page its row number) after them.
const caseColumns = 33

// collectCases scans every row of rows into a case, and the total count a
// listing's rows carry.
func collectCases(rows pgx.Rows, capacity int) ([]casefile.Case, int64, error) {
	defer rows.Close()
	var total, position int64
	var i queries.Case
	// Every row has the same columns; Scan overwrites each destination.
	dest := []any{&i.CaseID, &i.CaseClass, &i.CaseType, &i.RegisteredByID, &i.RegisteredByName,
		&i.UpdatedByID, &i.UpdatedByName, &i.CustomerID, &i.CustomerName, &i.CustomerIdentNum,
		&i.RegistrationDate, &i.State, &i.Resolution, &i.Importance, &i.Details, &i.ArrangementNum,
		&i.CommReason, &i.CommReplyAddress, &i.CommReplyAddressCode, &i.CommType, &i.RelCaseID,
		&i.CallbackRequestTime, &i.Categorry, &i.Attachments, &i.Version, &i.UpdatedAt,
		&i.CallbackStatus, &i.Escalated, &i.ResolveBy, &i.ResolutionCode,
		&i.AssigneeID, &i.AssigneeName, &i.Queue}
	switch len(rows.FieldDescriptions()) - caseColumns {
	case 1:
		dest = append(dest, &total)
	case 2:
		dest = append(dest, &total, &position)
	}
	cases := make([]casefile.Case, 0, capacity)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, 0, err
		}
		c, err := caseFromRow(i)
		if err != nil {
			return nil, 0, err
		}
		cases = append(cases, c)
	}
	return cases, total, rows.Err()
}

func caseFromRow(i queries.Case) (casefile.Case, error) {
	var attachments []casefile.Attachment
	if err := json.Unmarshal(i.Attachments, &attachments); err != nil {
		return casefile.Case{}, fmt.Errorf("case %s, attachments: %w", i.CaseID, err)
	}
	return casefile.Case{
		ID:                   i.CaseID,
		Class:                casefile.Class(i.CaseClass),
		Type:                 i.CaseType,
		RegisteredByID:       value(i.RegisteredByID),
		RegisteredByName:     value(i.RegisteredByName),
		UpdatedByID:          value(i.UpdatedByID),
		UpdatedByName:        value(i.UpdatedByName),
		CustomerID:           i.CustomerID,
		CustomerName:         value(i.CustomerName),
		CustomerIdentNum:     value(i.CustomerIdentNum),
		RegisteredAt:         i.RegistrationDate.UTC(),
		State:                casefile.State(i.State),
		Resolution:           value(i.Resolution),
		Importance:           i.Importance,
		Details:              value(i.Details),
		ArrangementNum:       value(i.ArrangementNum),
		CommReason:           value(i.CommReason),
		CommReplyAddress:     value(i.CommReplyAddress),
		CommReplyAddressCode: value(i.CommReplyAddressCode),
		CommType:             value(i.CommType),
		RelCaseID:            value(i.RelCaseID),
		CallbackAt:           utc(i.CallbackRequestTime),
		Categorry:            value(i.Categorry),
		Attachments:          nonNil(attachments),
		Version:              i.Version,
		UpdatedAt:            i.UpdatedAt.UTC(),
		CallbackStatus:       casefile.CallbackStatus(value(i.CallbackStatus)),
		Escalated:            i.Escalated,
		ResolveBy:            utc(i.ResolveBy),
		ResolutionCode:       value(i.ResolutionCode),
		AssigneeID:           value(i.AssigneeID),
		AssigneeName:         value(i.AssigneeName),
		Queue:                value(i.Queue),
	}, nil
}
