package api

import (
	"strconv"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
)

// Reads answer with JSON written straight into the response's pooled body
// buffer by the appenders below, byte for byte what encoding/json makes of
// the same views (FuzzViewsEncodeAsEncodingJSON holds them to that).
// Against encoding/json they serve 25 % more customer pages a second
// (docs/BENCHMARKS.md).

// jsonAppender writes one value as JSON.
type jsonAppender interface {
	appendJSON(b []byte) []byte
}

// sendJSON answers with v as the body, reusing the response's buffer.
func sendJSON(c *fiber.Ctx, v jsonAppender) error {
	resp := c.Response()
	resp.Header.SetContentType(fiber.MIMEApplicationJSON)
	body := resp.SwapBody(nil)
	resp.SwapBody(v.appendJSON(body[:0]))
	return nil
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json does: HTML-safe, with invalid
// UTF-8 replaced and U+2028/U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		invalid := r == utf8.RuneError && size == 1
		if invalid || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			if invalid {
				b = append(b, "\ufffd"...)
			} else {
				b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			}
			start = i + size
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendNullable(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendString(b, *s)
}

func appendTimestamp(b []byte, t timestamp) []byte {
	b = append(b, '"')
	b, _ = t.AppendText(b)
	return append(b, '"')
}

func appendNullableTimestamp(b []byte, t *timestamp) []byte {
	if t == nil {
		return append(b, "null"...)
	}
	return appendTimestamp(b, *t)
}

func (a attachmentView) appendJSON(b []byte) []byte {
	b = append(b, `{"file-id":`...)
	b = appendString(b, a.FileID)
	b = append(b, `,"file-name":`...)
	b = appendString(b, a.FileName)
	b = append(b, `,"customer-id":`...)
	b = appendNullable(b, a.CustomerID)
	b = append(b, `,"added-at":`...)
	b = appendTimestamp(b, a.AddedAt)
	return append(b, '}')
}

// appendFields writes the shared fields into an object already begun.
func (v caseCore) appendFields(b []byte) []byte {
	b = append(b, `,"updated-by-id":`...)
	b = appendNullable(b, v.UpdatedByID)
	b = append(b, `,"updated-by-name":`...)
	b = appendNullable(b, v.UpdatedByName)
	b = append(b, `,"customer-id":`...)
	b = appendString(b, v.CustomerID)
	b = append(b, `,"customer-name":`...)
	b = appendNullable(b, v.CustomerName)
	b = append(b, `,"customer-ident-num":`...)
	b = appendNullable(b, v.CustomerIdentNum)
	b = append(b, `,"registration-date":`...)
	b = appendTimestamp(b, v.RegistrationDate)
	b = append(b, `,"state":`...)
	b = appendString(b, v.State)
	b = append(b, `,"resolution":`...)
	b = appendNullable(b, v.Resolution)
	b = append(b, `,"importance":`...)
	return appendString(b, v.Importance)
}

func (v caseView) appendJSON(b []byte) []byte {
	b = append(b, `{"case-id":`...)
	b = appendString(b, v.CaseID)
	b = append(b, `,"case-type":`...)
	b = appendString(b, v.CaseType)
	b = append(b, `,"case-class":`...)
	b = appendString(b, v.CaseClass)
	b = append(b, `,"registered-by-id":`...)
	b = appendNullable(b, v.RegisteredByID)
	b = append(b, `,"registered-by-name":`...)
	b = appendNullable(b, v.RegisteredByName)
	b = v.caseCore.appendFields(b)
	b = append(b, `,"title":`...)
	b = appendNullable(b, v.Title)
	b = append(b, `,"details":`...)
	b = appendNullable(b, v.Details)
	b = append(b, `,"arrangement-num":`...)
	b = appendNullable(b, v.ArrangementNum)
	b = append(b, `,"attachments":`...)
	b = appendItems(b, v.Attachments)
	b = append(b, `,"comm-reason":`...)
	b = appendNullable(b, v.CommReason)
	b = append(b, `,"comm-reply-address":`...)
	b = appendNullable(b, v.CommReplyAddress)
	b = append(b, `,"comm-reply-address-code":`...)
	b = appendNullable(b, v.CommReplyAddressCode)
	b = append(b, `,"comm-type":`...)
	b = appendNullable(b, v.CommType)
	b = append(b, `,"rel-case-id":`...)
	b = appendNullable(b, v.RelCaseID)
	b = append(b, `,"callback-request-time":`...)
	b = appendNullableTimestamp(b, v.CallbackRequestTime)
	b = append(b, `,"categorry":`...)
	b = appendNullable(b, v.Categorry)
	b = append(b, `,"callback-status":`...)
	b = appendNullable(b, v.CallbackStatus)
	b = append(b, `,"resolve-by":`...)
	b = appendNullableTimestamp(b, v.ResolveBy)
	b = append(b, `,"escalated":`...)
	b = strconv.AppendBool(b, v.Escalated)
	b = append(b, `,"version-num":`...)
	b = appendString(b, v.VersionNum)
	b = append(b, `,"updated-at":`...)
	b = appendTimestamp(b, v.UpdatedAt)
	b = append(b, `,"resolution-code":`...)
	b = appendNullable(b, v.ResolutionCode)
	b = v.assignment.appendFields(b)
	b = append(b, `,"href":`...)
	b = appendString(b, v.Href)
	return append(b, '}')
}

// appendFields writes the assignment into an object already begun.
func (a assignment) appendFields(b []byte) []byte {
	b = append(b, `,"assignee-id":`...)
	b = appendNullable(b, a.AssigneeID)
	b = append(b, `,"assignee-name":`...)
	b = appendNullable(b, a.AssigneeName)
	b = append(b, `,"queue":`...)
	return appendNullable(b, a.Queue)
}

func (v historyView) appendJSON(b []byte) []byte {
	b = append(b, `{"case-id":`...)
	b = appendString(b, v.CaseID)
	b = append(b, `,"case-type":`...)
	b = appendString(b, v.CaseType)
	b = v.caseCore.appendFields(b)
	b = append(b, `,"details":`...)
	b = appendNullable(b, v.Details)
	b = append(b, `,"arrangement-num":`...)
	b = appendNullable(b, v.ArrangementNum)
	b = append(b, `,"version-num":`...)
	b = appendString(b, v.VersionNum)
	b = append(b, `,"version-date":`...)
	b = appendTimestamp(b, v.VersionDate)
	b = append(b, `,"change":`...)
	b = appendString(b, v.Change)
	b = append(b, `,"callback-status":`...)
	b = appendNullable(b, v.CallbackStatus)
	b = append(b, `,"escalated":`...)
	b = strconv.AppendBool(b, v.Escalated)
	b = append(b, `,"note":`...)
	b = appendNullable(b, v.Note)
	b = append(b, `,"note-visibility":`...)
	b = appendNullable(b, v.NoteVisibility)
	b = append(b, `,"resolution-code":`...)
	b = appendNullable(b, v.ResolutionCode)
	b = v.assignment.appendFields(b)
	return append(b, '}')
}

func (p pageView[T]) appendJSON(b []byte) []byte {
	b = append(b, `{"total-count":`...)
	b = strconv.AppendInt(b, p.TotalCount, 10)
	b = append(b, `,"page-size":`...)
	b = strconv.AppendInt(b, int64(p.PageSize), 10)
	b = append(b, `,"page-number":`...)
	b = strconv.AppendInt(b, int64(p.PageNumber), 10)
	b = append(b, `,"total-pages":`...)
	b = strconv.AppendInt(b, p.TotalPages, 10)
	b = append(b, `,"Items":`...)
	b = appendItems(b, p.Items)
	b = append(b, `,"next-page-token":`...)
	b = appendNullable(b, p.NextPageToken)
	b = append(b, `,"total-count-exact":`...)
	b = strconv.AppendBool(b, p.TotalCountExact)
	return append(b, '}')
}

// appendItems writes a JSON array; a nil slice is null, as encoding/json has it.
func appendItems[T jsonAppender](b []byte, items []T) []byte {
	if items == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, item := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = item.appendJSON(b)
	}
	return append(b, ']')
}
