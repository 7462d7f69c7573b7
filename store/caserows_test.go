package store

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"
)

func binaryMicros(m int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(m))
}

func TestBinaryTimestampsDecodeOnBothSidesOf2000(t *testing.T) {
	f := pgconn.FieldDescription{Format: pgtype.BinaryFormatCode}
	for _, want := range []time.Time{
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 27, 15, 4, 5, 123456000, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 1000, time.UTC),
	} {
		micros := want.Sub(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).Microseconds()
		var got time.Time
		require.NoError(t, timestampValue(f, binaryMicros(micros), &got))
		require.Equal(t, want, got)
	}
	var got time.Time
	require.ErrorContains(t, timestampValue(f, binaryMicros(infinityMicros), &got), "infinite")
	require.ErrorContains(t, timestampValue(f, binaryMicros(-infinityMicros-1), &got), "infinite")
	require.ErrorContains(t, timestampValue(pgconn.FieldDescription{Format: pgtype.TextFormatCode}, []byte("2026-11-27"), &got), "binary")
	require.ErrorContains(t, timestampValue(f, nil, &got), "NULL")
}

func TestNumbersAndBooleansDecodeInEitherFormat(t *testing.T) {
	binaryField, textField := pgconn.FieldDescription{Format: pgtype.BinaryFormatCode}, pgconn.FieldDescription{Format: pgtype.TextFormatCode}
	n, err := int8Value(binaryField, binaryMicros(-42))
	require.NoError(t, err)
	require.Equal(t, int64(-42), n)
	n, err = int8Value(textField, []byte("1000000"))
	require.NoError(t, err)
	require.Equal(t, int64(1000000), n)
	_, err = int8Value(binaryField, []byte{1, 2})
	require.Error(t, err)

	for raw, want := range map[string]bool{"\x01": true, "\x00": false} {
		b, err := boolValue(binaryField, []byte(raw))
		require.NoError(t, err)
		require.Equal(t, want, b)
	}
	b, err := boolValue(textField, []byte("t"))
	require.NoError(t, err)
	require.True(t, b)
	_, err = boolValue(binaryField, nil)
	require.ErrorContains(t, err, "NULL")
}

func TestRowsOfAnotherShapeAreRefused(t *testing.T) {
	fields := make([]pgconn.FieldDescription, caseColumns)
	for i, oid := range caseColumnTypes {
		fields[i].DataTypeOID = oid
	}
	require.NoError(t, checkCaseColumns(fields))
	require.ErrorContains(t, checkCaseColumns(fields[:caseColumns-1]), "columns")
	fields[24].DataTypeOID, fields[24].Name = pgtype.Int4OID, "version"
	require.ErrorContains(t, checkCaseColumns(fields), "version")
}
