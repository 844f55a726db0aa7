package cot

import (
	"testing"
)

// The workload: the ATAK self-SA of the corpus (the most common event on a TAK
// network), decoded and encoded again once per iteration.

func benchSA(b *testing.B) []byte {
	return corpus(b)["atak-sa"]
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkXMLDecodeEncode(b *testing.B) {
	in := benchSA(b)
	out := make([]byte, 0, 2048)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		e, err := DecodeXML(in)
		if err != nil {
			b.Fatal(err)
		}
		out = e.AppendXML(out[:0])
	}
	reportRate(b)
}

func BenchmarkProtoDecodeEncode(b *testing.B) {
	e, err := DecodeXML(benchSA(b))
	if err != nil {
		b.Fatal(err)
	}
	in := e.AppendProto(nil)
	out := make([]byte, 0, 2048)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		e, _, err := DecodeProto(in)
		if err != nil {
			b.Fatal(err)
		}
		out = e.AppendFramed(out[:0])
	}
	reportRate(b)
}

// BenchmarkXMLDecodeStd is the encoding/xml reference decoder on the same
// event, decode only: what the hand-written scanner is measured against.
func BenchmarkXMLDecodeStd(b *testing.B) {
	in := benchSA(b)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := refDecodeXML(in); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}

func BenchmarkXMLDecode(b *testing.B) {
	in := benchSA(b)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeXML(in); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b)
}

func BenchmarkXMLEncode(b *testing.B) {
	e, err := DecodeXML(benchSA(b))
	if err != nil {
		b.Fatal(err)
	}
	out := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		out = e.AppendXML(out[:0])
	}
	reportRate(b)
}
