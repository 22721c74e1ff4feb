package api

import (
	"reflect"
	"testing"

	"github.com/datavenue/datavenue/subscriptions"
)

// FuzzFastBatch: whatever the fast batch parser accepts, the generic decoder accepts too, with
// the same records; what it refuses goes the generic way, so it can never widen what a batch may be.
func FuzzFastBatch(f *testing.F) {
	for _, s := range []string{
		`{"records":[{"record_id":"r1","subscription_id":"sub_1","unit":"per_call","quantity":"1.5","used_at":"2026-12-01T10:00:00+08:00"}]}`,
		` { "records" : [ {"record_id":"a"} , {} ] } `, `{"records":[]}`, `{"records":[{"record_id":"a","record_id":"b"}]}`,
		`{"records":[{"Record_id":"a"}]}`, `{"records":[{"record_id":"a\u0041"}]}`, `{"records":[{"quantity":1}]}`, `{"records":[{},]}`,
		`{"records":null}`, `{"records":[]}{}`, `{"records":[{"unit":"中"}]}`, `{"records":[],"records":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, ok := fastBatch(body)
		if !ok {
			return
		}
		var generic subscriptions.BatchInput
		if err := decodeBody(body, &generic); err != nil {
			t.Fatalf("fast path accepted %q, the generic decoder refuses it: %v", body, err)
		}
		if len(fast.Records) != len(generic.Records) || (len(fast.Records) > 0 && !reflect.DeepEqual(fast.Records, generic.Records)) {
			t.Fatalf("%q: fast %+v, generic %+v", body, fast.Records, generic.Records)
		}
	})
}
