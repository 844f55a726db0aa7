package cot

// Checks our hand-written v1 codec against protobuf-go itself: the TAK schema
// is described here as a descriptor (the facts of the wire format from
// takmessage.proto, cotevent.proto, detail.proto and friends), our output is
// parsed by dynamicpb, and dynamicpb output is parsed by us.

import (
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

func takDescriptor(t *testing.T) protoreflect.MessageDescriptor {
	type f struct {
		name string
		num  int32
		typ  descriptorpb.FieldDescriptorProto_Type
		msg  string
	}
	S, U32, U64, D, M := descriptorpb.FieldDescriptorProto_TYPE_STRING, descriptorpb.FieldDescriptorProto_TYPE_UINT32,
		descriptorpb.FieldDescriptorProto_TYPE_UINT64, descriptorpb.FieldDescriptorProto_TYPE_DOUBLE, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	msgs := []struct {
		name   string
		fields []f
	}{
		{"TakMessage", []f{{"takControl", 1, M, "TakControl"}, {"cotEvent", 2, M, "CotEvent"}}},
		{"TakControl", []f{{"minProtoVersion", 1, U32, ""}, {"maxProtoVersion", 2, U32, ""}, {"contactUid", 3, S, ""}}},
		{"CotEvent", []f{{"type", 1, S, ""}, {"access", 2, S, ""}, {"qos", 3, S, ""}, {"opex", 4, S, ""}, {"uid", 5, S, ""},
			{"sendTime", 6, U64, ""}, {"startTime", 7, U64, ""}, {"staleTime", 8, U64, ""}, {"how", 9, S, ""},
			{"lat", 10, D, ""}, {"lon", 11, D, ""}, {"hae", 12, D, ""}, {"ce", 13, D, ""}, {"le", 14, D, ""}, {"detail", 15, M, "Detail"}}},
		{"Detail", []f{{"xmlDetail", 1, S, ""}, {"contact", 2, M, "Contact"}, {"group", 3, M, "Group"}, {"precisionLocation", 4, M, "PrecisionLocation"},
			{"status", 5, M, "Status"}, {"takv", 6, M, "Takv"}, {"track", 7, M, "Track"}}},
		{"Contact", []f{{"endpoint", 1, S, ""}, {"callsign", 2, S, ""}}},
		{"Group", []f{{"name", 1, S, ""}, {"role", 2, S, ""}}},
		{"PrecisionLocation", []f{{"geopointsrc", 1, S, ""}, {"altsrc", 2, S, ""}}},
		{"Status", []f{{"battery", 1, U32, ""}}},
		{"Takv", []f{{"device", 1, S, ""}, {"platform", 2, S, ""}, {"os", 3, S, ""}, {"version", 4, S, ""}}},
		{"Track", []f{{"speed", 1, D, ""}, {"course", 2, D, ""}}},
	}
	fd := &descriptorpb.FileDescriptorProto{
		Name:    proto.String("tak_test.proto"),
		Package: proto.String("atakmap.commoncommo.protobuf.v1"),
		Syntax:  proto.String("proto3"),
	}
	for _, m := range msgs {
		dp := &descriptorpb.DescriptorProto{Name: proto.String(m.name)}
		for _, x := range m.fields {
			fp := &descriptorpb.FieldDescriptorProto{
				Name: proto.String(x.name), Number: proto.Int32(x.num), Type: x.typ.Enum(),
				Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), JsonName: proto.String(x.name),
			}
			if x.msg != "" {
				fp.TypeName = proto.String(".atakmap.commoncommo.protobuf.v1." + x.msg)
			}
			dp.Field = append(dp.Field, fp)
		}
		fd.MessageType = append(fd.MessageType, dp)
	}
	file, err := protodesc.NewFile(fd, nil)
	if err != nil {
		t.Fatal(err)
	}
	return file.Messages().ByName("TakMessage")
}

func TestProtoAgainstProtobufGo(t *testing.T) {
	md := takDescriptor(t)
	for name, in := range corpus(t) {
		e, err := DecodeXML(in)
		if err != nil {
			t.Fatal(err)
		}
		m := dynamicpb.NewMessage(md)
		if err := proto.Unmarshal(e.AppendProto(nil), m); err != nil {
			t.Fatalf("%s: protobuf-go refuses our payload: %v", name, err)
		}
		get := func(m protoreflect.Message, path ...string) protoreflect.Value {
			var v protoreflect.Value
			for i, p := range path {
				fdesc := m.Descriptor().Fields().ByName(protoreflect.Name(p))
				v = m.Get(fdesc)
				if i < len(path)-1 {
					m = v.Message()
				}
			}
			return v
		}
		ce := "cotEvent"
		if get(m, ce, "uid").String() != e.UID || get(m, ce, "type").String() != e.Type ||
			get(m, ce, "sendTime").Uint() != uint64(e.Time.UnixMilli()) || get(m, ce, "staleTime").Uint() != uint64(e.Stale.UnixMilli()) ||
			get(m, ce, "lat").Float() != e.Point.Lat || get(m, ce, "hae").Float() != e.Point.HAE ||
			get(m, ce, "detail", "xmlDetail").String() != string(e.Detail.XML) {
			t.Errorf("%s: fields differ: %v", name, m)
		}
		if c := e.Detail.Contact; c != nil && get(m, ce, "detail", "contact", "callsign").String() != c.Callsign {
			t.Errorf("%s: contact", name)
		}
		if s := e.Detail.Status; s != nil && get(m, ce, "detail", "status", "battery").Uint() != uint64(s.Battery) {
			t.Errorf("%s: status", name)
		}
		if tr := e.Detail.Track; tr != nil && get(m, ce, "detail", "track", "course").Float() != tr.Course {
			t.Errorf("%s: track", name)
		}
		// protobuf-go's own encoding of the same message decodes to the same event.
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		e2, _, err := DecodeProto(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d := eventDiff(protoView(e), e2); d != "" {
			t.Errorf("%s: via protobuf-go:\n%s", name, d)
		}
	}
	// A TakControl written by protobuf-go.
	m := dynamicpb.NewMessage(md)
	ctlField := md.Fields().ByName("takControl")
	ctl := m.NewField(ctlField).Message()
	ctl.Set(ctl.Descriptor().Fields().ByName("minProtoVersion"), protoreflect.ValueOfUint32(1))
	ctl.Set(ctl.Descriptor().Fields().ByName("maxProtoVersion"), protoreflect.ValueOfUint32(1))
	ctl.Set(ctl.Descriptor().Fields().ByName("contactUid"), protoreflect.ValueOfString("ANDROID-1"))
	m.Set(ctlField, protoreflect.ValueOfMessage(ctl))
	b, _ := proto.Marshal(m)
	e, c, err := DecodeProto(b)
	if err != nil || e != nil || c == nil || *c != (Control{1, 1, "ANDROID-1"}) {
		t.Errorf("control: %v %v %v", e, c, err)
	}
}
