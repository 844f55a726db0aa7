package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/mqtt"
)

// campFlags configure the camp sensor reading path: the embedded MQTT broker
// and the retention of readings and roll-ups.
type campFlags struct {
	mqtt       string
	rawDays    int
	minuteDays int
	hourDays   int
}

func (f *campFlags) register(fs *flag.FlagSet, mqttDefault string) {
	fs.StringVar(&f.mqtt, "mqtt", env("mqtt", mqttDefault), "address of the embedded MQTT broker for camp sensors (username: sensor code, password: its token); empty for none [BLUEHELM_MQTT]")
	fs.IntVar(&f.rawDays, "readings-retention-days", envInt("readings-retention-days", 7), "days raw sensor readings are kept; 0 keeps them [BLUEHELM_READINGS_RETENTION_DAYS]")
	fs.IntVar(&f.minuteDays, "minute-rollups-retention-days", envInt("minute-rollups-retention-days", 90), "days minute roll-ups are kept; 0 keeps them [BLUEHELM_MINUTE_ROLLUPS_RETENTION_DAYS]")
	fs.IntVar(&f.hourDays, "hour-rollups-retention-days", envInt("hour-rollups-retention-days", 5*365+1), "days hourly roll-ups are kept; 0 keeps them [BLUEHELM_HOUR_ROLLUPS_RETENTION_DAYS]")
}

func (f campFlags) check() error {
	for _, x := range []struct {
		name string
		v    int
	}{{"readings-retention-days", f.rawDays}, {"minute-rollups-retention-days", f.minuteDays}, {"hour-rollups-retention-days", f.hourDays}} {
		if x.v < 0 {
			return fmt.Errorf("--%s %d: must not be negative", x.name, x.v)
		}
	}
	// Readings up to bluehelm.MaxReadingAge old are accepted; pruning raw
	// readings sooner would delete what was just acknowledged.
	if f.rawDays > 0 && time.Duration(f.rawDays)*24*time.Hour < bluehelm.MaxReadingAge {
		return fmt.Errorf("--readings-retention-days %d: at least %d (readings that old are still accepted)", f.rawDays, int(bluehelm.MaxReadingAge/(24*time.Hour)))
	}
	return nil
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// campRuntime is the running reading path: its timers and the broker.
type campRuntime struct {
	mqttAddr string
	done     chan struct{}
}

// startCamp loads the reading path, starts its timers (stale sensors, roll-up
// flushes, retention) and the MQTT broker. With optionalMQTT (the demo) a
// broker that cannot listen is a warning, not an error. The runtime stops when
// ctx ends; wait on done before closing the store.
func (a *app) startCamp(ctx context.Context, f campFlags, optionalMQTT bool) (*campRuntime, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	if err := a.pipeline.LoadSensors(ctx); err != nil {
		return nil, err
	}
	rt := &campRuntime{done: make(chan struct{})}
	var broker *mqtt.Server
	if f.mqtt != "" {
		broker = mqtt.New(mqtt.Config{Addr: f.mqtt, Sensors: a.pipeline, Sink: mqttSink{a.pipeline}, Logger: a.log})
		addr, err := broker.Start(ctx)
		switch {
		case err != nil && optionalMQTT:
			a.log.Warn("MQTT broker not started", "err", err)
			broker = nil
		case err != nil:
			return nil, fmt.Errorf("--mqtt: %w", err)
		default:
			rt.mqttAddr = addr
			a.log.Info("MQTT broker for camp sensors", "addr", addr)
		}
	}
	go func() {
		defer close(rt.done)
		err := a.pipeline.RunSensors(ctx, ingest.SensorRunOptions{
			RawRetention: days(f.rawDays), MinuteRetention: days(f.minuteDays), HourRetention: days(f.hourDays)})
		if err != nil {
			a.log.Error("camp sensors stopped", "err", err)
		}
		if broker != nil {
			broker.Close() // waits for Sink calls in progress, before the store closes
		}
	}()
	return rt, nil
}

// mqttSink hands a sensor's readings from the broker to the pipeline, as that
// sensor.
type mqttSink struct{ p *ingest.Pipeline }

func (m mqttSink) Readings(ctx context.Context, s *bluehelm.Sensor, rs []bluehelm.Reading) error {
	for i := range rs {
		rs[i].SensorID, rs[i].SensorCode = s.ID, s.Code
	}
	res, err := m.p.IngestReadingsFrom(ctx, ingest.SensorPrincipal(s), rs, "mqtt")
	if err != nil && bluehelm.ErrorCode(err) != bluehelm.EINVALID {
		return err // nothing stored for a reason a resend may overcome: no PUBACK
	}
	if len(res.Rejected) > 0 {
		rej := &mqtt.RejectedError{}
		for _, r := range res.Rejected {
			rej.Rejected = append(rej.Rejected, mqtt.Rejection{Index: r.Index, Field: r.Field, Error: r.Reason})
		}
		return rej
	}
	return err
}

// Quarantine keeps what the broker refused itself (undecodable payloads,
// readings invalid for the sensor) beside the pipeline's refusals.
func (m mqttSink) Quarantine(ctx context.Context, s *bluehelm.Sensor, bad []mqtt.Rejection) {
	now := time.Now().UTC()
	qs := make([]bluehelm.QuarantinedReading, 0, len(bad))
	for _, b := range bad {
		qs = append(qs, bluehelm.QuarantinedReading{ReceivedAt: now, SensorID: s.ID, SensorCode: s.Code,
			Field: b.Field, Reason: b.Error, Source: "mqtt"})
	}
	m.p.QuarantineReadings(ctx, qs)
}
