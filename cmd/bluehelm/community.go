package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/bluehelm/bluehelm"
	"github.com/bluehelm/bluehelm/http"
	"github.com/bluehelm/bluehelm/ingest"
	"github.com/bluehelm/bluehelm/places"
	"github.com/bluehelm/bluehelm/sender"
	"github.com/bluehelm/bluehelm/sim"
	"github.com/bluehelm/bluehelm/sms"
)

// communityFlags configure the community alert intake (issue 8): the key that protects
// senders' numbers, the SMS gateways' shared secrets, the gateway replies go through,
// and which countries' places messages are matched against.
type communityFlags struct {
	keyFile, key            string
	secretGeneric           string
	secretAndroid           string
	androidURL, androidUser string
	androidPassword         string
	countries               string
	window                  time.Duration
	noAck                   bool
}

func (c *communityFlags) register(fs *flag.FlagSet, countries string) {
	fs.StringVar(&c.keyFile, "sender-key-file", env("sender-key-file", ""),
		"file of the key that pseudonymises and seals community alert senders' numbers, created (mode 0600) if missing; empty for sender.key in the data directory. Keep it out of database backups [BLUEHELM_SENDER_KEY_FILE]")
	fs.StringVar(&c.key, "sender-key", env("sender-key", ""),
		"the sender key itself (64 hex digits or base64), instead of the file; prefer the environment variable [BLUEHELM_SENDER_KEY]")
	fs.StringVar(&c.secretGeneric, "sms-secret-generic", env("sms-secret-generic", ""),
		"shared secret of the generic SMS webhook (/api/v1/community/sms/generic); empty refuses every call [BLUEHELM_SMS_SECRET_GENERIC]")
	fs.StringVar(&c.secretAndroid, "sms-secret-android", env("sms-secret-android", ""),
		"signing key of the SMS Gateway for Android webhook (/api/v1/community/sms/android); empty refuses every call [BLUEHELM_SMS_SECRET_ANDROID]")
	fs.StringVar(&c.androidURL, "sms-android-url", env("sms-android-url", ""),
		"local server URL of the SMS Gateway for Android phone, for acknowledgements and replies (e.g. http://192.168.1.20:8080); empty: none [BLUEHELM_SMS_ANDROID_URL]")
	fs.StringVar(&c.androidUser, "sms-android-user", env("sms-android-user", "sms"), "its username [BLUEHELM_SMS_ANDROID_USER]")
	fs.StringVar(&c.androidPassword, "sms-android-password", env("sms-android-password", ""), "its password [BLUEHELM_SMS_ANDROID_PASSWORD]")
	fs.StringVar(&c.countries, "community-countries", env("community-countries", countries),
		"ISO country codes (comma-separated) whose places community messages are matched against; empty for every country [BLUEHELM_COMMUNITY_COUNTRIES]")
	fs.DurationVar(&c.window, "community-window", envDuration("community-window", 2*time.Hour),
		"how long a sender's later messages, or near-identical ones about the same place, join a message's group [BLUEHELM_COMMUNITY_WINDOW]")
	fs.BoolVar(&c.noAck, "community-no-ack", env("community-no-ack", "") == "true",
		"send no acknowledgement to community alert senders [BLUEHELM_COMMUNITY_NO_ACK]")
}

// loadKey reads the sender key from the flag or environment, else from the key file.
func (c *communityFlags) loadKey(dataDir string) (*sender.Keys, string, error) {
	if c.key != "" {
		raw, err := sender.ParseKey(c.key)
		if err != nil {
			return nil, "", fmt.Errorf("--sender-key: %w", err)
		}
		k, err := sender.New(raw)
		return k, "from --sender-key", err
	}
	path := c.keyFile
	if path == "" {
		path = filepath.Join(dataDir, "sender.key")
	}
	raw, err := sender.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, "", err
	}
	k, err := sender.New(raw)
	return k, path, err
}

// startCommunity builds the community intake and hands it to the HTTP server.
func (a *app) startCommunity(cf communityFlags, dataDir string, extra []bluehelm.GazetteerPlace) error {
	keys, where, err := cf.loadKey(dataDir)
	if err != nil {
		return err
	}
	repliers := map[string]ingest.Replier{}
	if cf.androidURL != "" {
		repliers["sms:android"] = &sms.AndroidSender{BaseURL: cf.androidURL, Username: cf.androidUser, Password: cf.androidPassword}
	}
	matcher := sync.OnceValue(func() *bluehelm.PlaceMatcher { return communityPlaces(a.log, cf.countries, extra) })
	intake := ingest.NewCommunity(a.pipeline, ingest.CommunityConfig{Keys: keys, Places: matcher, Window: cf.window, Repliers: repliers, NoAck: cf.noAck})
	a.community = &http.CommunityOptions{Intake: intake, Secrets: map[sms.Gateway]string{sms.Generic: cf.secretGeneric, sms.Android: cf.secretAndroid}}
	a.log.Info("community alerts", "sender_key", where, "generic_webhook", cf.secretGeneric != "", "android_webhook", cf.secretAndroid != "", "replies", cf.androidURL != "")
	return nil
}

// communityPlaces matches messages against extra (the mission's own list, with local
// spellings) and then the embedded gazetteer, limited to countries.
func communityPlaces(log *slog.Logger, countries string, extra []bluehelm.GazetteerPlace) *bluehelm.PlaceMatcher {
	own := bluehelm.NewPlaceMatcher(extra)
	ix, err := places.Load()
	if err != nil {
		log.Error("loading the gazetteer for community alerts", "err", err)
		return own
	}
	allowed := map[string]bool{}
	for _, c := range strings.Split(countries, ",") {
		if c = strings.ToUpper(strings.TrimSpace(c)); c != "" {
			allowed[c] = true
		}
	}
	var (
		mu    sync.Mutex
		cache = map[string]*bluehelm.GazetteerPlace{}
	)
	return own.WithLookup(3, func(key string) (bluehelm.GazetteerPlace, bool) {
		// The gazetteer's names are in Latin script: other runs cannot match.
		for _, r := range key {
			if r > unicode.MaxLatin1 && !unicode.Is(unicode.Latin, r) && r != ' ' {
				return bluehelm.GazetteerPlace{}, false
			}
		}
		mu.Lock()
		p, seen := cache[key]
		mu.Unlock()
		if !seen {
			for _, c := range ix.Search(key, 10) {
				if bluehelm.FoldText(c.Name) == key && (len(allowed) == 0 || allowed[c.Country]) {
					p = &bluehelm.GazetteerPlace{Name: c.Name, Country: c.Country, Admin1: c.Admin1, Population: c.Population,
						Location: bluehelm.Point{Lon: c.Lon, Lat: c.Lat}}
					break
				}
			}
			mu.Lock()
			if len(cache) > 200_000 { // words seen once accumulate: start again
				clear(cache)
			}
			cache[key] = p
			mu.Unlock()
		}
		if p == nil {
			return bluehelm.GazetteerPlace{}, false
		}
		return *p, true
	})
}

// demoSMSSecret is the demo's generic webhook secret when none is given, so that a
// visitor can post an SMS with curl (printed at start).
const demoSMSSecret = "demo-sms-secret"

// startDemoCommunity starts the intake with the scenario's place spellings and, on a
// fresh data directory, feeds it the demo's community alerts.
func (a *app) startDemoCommunity(ctx context.Context, cf communityFlags, dataDir string, fresh bool) error {
	if cf.secretGeneric == "" {
		cf.secretGeneric = demoSMSSecret
	}
	if err := a.startCommunity(cf, dataDir, sim.CommunityPlaces()); err != nil {
		return err
	}
	a.log.Info("community alerts: post an SMS with", "curl",
		`curl -H 'Authorization: Bearer `+cf.secretGeneric+`' -H 'Content-Type: application/json' -d '{"id":"1","from":"+211955500199","text":"Armed men near Bor"}' http://HOST/api/v1/community/sms/generic`,
		"public_form", "/report")
	if !fresh {
		return nil
	}
	return sim.SeedCommunity(ctx, a.community.Intake, time.Now())
}
