package marti

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bluehelm/bluehelm"
)

// multipartSlack is what a multipart body may add to the file it carries
// (boundaries, part headers, a few small form fields).
const multipartSlack = 1 << 20

// maxKeywordLen bounds one keyword.
const maxKeywordLen = 200

// metadata is one file as TAK Server describes it in /Marti/sync/search results
// and /Marti/sync/upload answers. The Title-case keys, Size and PrimaryKey as
// strings, EXPIRATION and Tool are TAK Server's; ATAK requires UID, Name, Hash,
// PrimaryKey (parsable as an integer) and SubmissionDateTime.
type metadata struct {
	UID                string   `json:"UID"`
	Name               string   `json:"Name"`
	Hash               string   `json:"Hash"`
	PrimaryKey         string   `json:"PrimaryKey"`
	SubmissionDateTime string   `json:"SubmissionDateTime"`
	SubmissionUser     string   `json:"SubmissionUser"`
	CreatorUid         string   `json:"CreatorUid"`
	Keywords           []string `json:"Keywords"`
	MIMEType           string   `json:"MIMEType"`
	Size               string   `json:"Size"`
	Expiration         string   `json:"EXPIRATION"`
	Tool               string   `json:"Tool"`
}

func metadataOf(a *bluehelm.Attachment) metadata {
	kw := a.Keywords
	if kw == nil {
		kw = []string{}
	}
	return metadata{
		// The hash is the uid: a TAK client identifies shared content by it, and
		// search shows one entry per content.
		UID: a.SHA256, Name: a.Name, Hash: a.SHA256, PrimaryKey: strconv.FormatInt(a.ID, 10),
		SubmissionDateTime: takTime(a.CreatedAt), SubmissionUser: a.UploadedBy, CreatorUid: a.CreatorUID,
		Keywords: kw, MIMEType: a.ContentType, Size: strconv.FormatInt(a.Size, 10), Expiration: "-1", Tool: "public",
	}
}

// query returns the first non-empty value of any of names, compared without
// case: iTAK sends CreatorUid where ATAK sends creatorUid.
func query(r *http.Request, names ...string) string {
	for k, vs := range r.URL.Query() {
		for _, n := range names {
			if strings.EqualFold(k, n) && len(vs) > 0 && vs[0] != "" {
				return vs[0]
			}
		}
	}
	return ""
}

// hashParam reads and checks the hash query parameter.
func hashParam(r *http.Request) (string, error) {
	h := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("hash")))
	if h == "" {
		return "", invalid("hash", "the hash query parameter (the file's SHA-256 in hex) is required")
	}
	if !validHash(h) {
		return "", invalid("hash", "must be 64 hex digits (SHA-256)")
	}
	return h, nil
}

// contentURL is where a client fetches content. ATAK uses the missionupload
// answer as the senderUrl of the file share it sends to its peers, who fetch it
// from this same server; so it is built from the host the client reached.
func (a *api) contentURL(r *http.Request, hash string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := requestHost(r)
	if host == "" {
		host = a.cfg.Hostname
	}
	return scheme + "://" + host + "/Marti/sync/content?hash=" + hash
}

// upload is Enterprise Sync's POST /Marti/sync/upload, which iTAK also uses for
// data packages: ?name=&keywords=&CreatorUid=, the body raw or multipart with an
// "assetfile" part. It answers with the stored file's metadata as JSON, as TAK
// Server does.
func (a *api) upload(w http.ResponseWriter, r *http.Request, c caller) error {
	att, err := a.receive(w, r, c, uploadRequest{
		kind:       "upload",
		name:       query(r, "name", "filename"),
		keywords:   splitKeywords(query(r, "keywords", "keyword")),
		creatorUID: query(r, "CreatorUid"),
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, metadataOf(att))
}

// missionUpload is ATAK's data package send: missionquery first, then
// POST /Marti/sync/missionupload?hash=&filename=&creatorUid= with the zip as a
// multipart "assetfile" part (a raw body is accepted too), then a file share CoT
// whose senderUrl is this answer's body: the content URL as text/plain.
func (a *api) missionUpload(w http.ResponseWriter, r *http.Request, c caller) error {
	hash, err := hashParam(r)
	if err != nil {
		return err
	}
	name := query(r, "filename", "name")
	if name == "" {
		return invalid("filename", "the filename query parameter is required")
	}
	kw := splitKeywords(query(r, "keywords", "keyword"))
	if len(kw) == 0 {
		kw = []string{"missionpackage"} // TAK Server's default for this route
	}
	att, err := a.receive(w, r, c, uploadRequest{kind: "missionupload", name: name, keywords: kw,
		creatorUID: query(r, "creatorUid"), wantHash: hash})
	if err != nil {
		return err
	}
	return writeText(w, "text/plain", a.contentURL(r, att.SHA256))
}

type uploadRequest struct {
	kind       string // metrics label
	name       string
	keywords   []string
	creatorUID string
	wantHash   string // when set, the content must hash to this
}

// receive stores an uploaded file and records it. The order is what keeps the
// store consistent: the bytes are staged and checked (size, hash, zip safety)
// with nothing visible yet; then committed (synced and renamed into place);
// only then is the record created. Refused input leaves nothing; a crash leaves
// at worst unreferenced bytes, never a record without them.
func (a *api) receive(w http.ResponseWriter, r *http.Request, c caller, u uploadRequest) (*bluehelm.Attachment, error) {
	if err := c.p.Require(bluehelm.ActSendMessage); err != nil {
		return nil, err
	}
	if c.dev == nil {
		// The marking comes from the device; without one it would be a guess.
		return nil, bluehelm.Errorf(bluehelm.EFORBIDDEN, "uploads need a TAK device certificate")
	}
	if len(u.keywords) > bluehelm.MaxListItems {
		return nil, invalid("keywords", "at most %d keywords", bluehelm.MaxListItems)
	}
	if len(u.creatorUID) > maxMarkerUIDLn || strings.ContainsFunc(u.creatorUID, isControl) {
		return nil, invalid("creatorUid", "longer than %d characters or not printable", maxMarkerUIDLn)
	}
	body := http.MaxBytesReader(w, r.Body, bluehelm.MaxAttachmentSize+multipartSlack)
	src, partName, partType, err := fileSource(r, body)
	if err != nil {
		return nil, err
	}
	name := cleanName(u.name)
	if name == "" {
		name = cleanName(partName)
	}
	if name == "" {
		return nil, invalid("name", "a file name is required (the name query parameter)")
	}
	staged, err := a.cfg.Files.Stage(src)
	if err != nil {
		return nil, err
	}
	defer staged.Discard()
	if u.wantHash != "" && staged.Hash != u.wantHash {
		return nil, invalid("hash", "the content's SHA-256 is %s, not the %s given", staged.Hash, u.wantHash)
	}
	var pkg dataPackage
	if looksLikeZip(staged.ReaderAt(), staged.Size) {
		if pkg, err = inspectZip(staged.ReaderAt(), staged.Size); err != nil {
			return nil, err
		}
	}
	now := a.now()
	att := &bluehelm.Attachment{
		SHA256: staged.Hash, Name: name, ContentType: contentType(partType, name), Size: staged.Size,
		Keywords: u.keywords, CreatorUID: u.creatorUID, UploadedBy: c.p.Username, CreatedAt: now,
		// What a device shares is marked like everything else it reports.
		Marking: bluehelm.Marking{Classification: c.dev.Classification, Component: c.p.Component},
	}
	if err := att.Validate(); err != nil {
		return nil, err
	}
	if err := staged.Commit(); err != nil {
		return nil, err
	}
	// A client that retries after a lost answer gets the record it already made
	// rather than a duplicate.
	if prev, err := a.sameUpload(r.Context(), att); err != nil {
		return nil, err
	} else if prev != nil {
		return prev, nil
	}
	audit := bluehelm.NewAudit(c.p, "attachment.create", "attachment/"+att.SHA256, map[string]any{
		"name": att.Name, "size": att.Size, "creator_uid": att.CreatorUID, "device": c.dev.Name, "route": u.kind})
	audit.At = now
	if err := a.cfg.Attachments.CreateAttachment(r.Context(), att, audit); err != nil {
		return nil, err
	}
	a.metrics.uploads.WithLabelValues(u.kind).Inc()
	a.metrics.uploadBytes.Add(float64(att.Size))
	a.log.Info("tak file stored", "user", c.p.Username, "device", c.dev.Name, "name", att.Name,
		"sha256", att.SHA256, "size", att.Size, "data_package", pkg.manifest)

	// Markers in the package first (they are what it documents), then the
	// creator uid and keywords, which a client may set to a marker's uid.
	cands := append(slices.Clone(pkg.markers), u.creatorUID)
	cands = append(cands, u.keywords...)
	a.link(r.Context(), c, att, cands)
	return att, nil
}

func (a *api) sameUpload(ctx context.Context, att *bluehelm.Attachment) (*bluehelm.Attachment, error) {
	prev, err := a.cfg.Attachments.AttachmentsByHash(ctx, att.SHA256)
	if err != nil {
		return nil, err
	}
	for _, p := range prev {
		if p.UploadedBy == att.UploadedBy && p.Name == att.Name && p.CreatorUID == att.CreatorUID &&
			p.Classification == att.Classification && p.Component == att.Component &&
			len(p.Releasability) == 0 && slices.Equal(p.Keywords, att.Keywords) {
			return p, nil
		}
	}
	return nil, nil
}

// link ties the attachment to the first incident one of the candidate marker
// uids belongs to. The upload has succeeded by then, so a failure here is logged
// rather than turned into an error the client would answer by uploading again.
func (a *api) link(ctx context.Context, c caller, att *bluehelm.Attachment, cands []string) {
	if a.cfg.Incidents == nil {
		return
	}
	seen := map[string]bool{}
	for _, uid := range cands {
		if uid == "" || seen[uid] {
			continue
		}
		seen[uid] = true
		if len(seen) > maxMarkerUIDs {
			return
		}
		id, ok := a.cfg.Incidents.IncidentForMarker(ctx, uid)
		if !ok {
			continue
		}
		audit := bluehelm.NewAudit(c.p, "attachment.link", "attachment/"+strconv.FormatInt(att.ID, 10),
			map[string]any{"incident_id": id, "marker_uid": uid})
		audit.At = a.now()
		if err := a.cfg.Attachments.LinkAttachment(ctx, att.ID, id, audit); err != nil {
			a.log.Error("linking tak upload to incident", "attachment", att.ID, "incident", id, "marker_uid", uid, "err", err)
			return
		}
		att.IncidentID = id
		a.metrics.linked.Inc()
		return
	}
}

// fileSource returns the uploaded file's bytes: the "assetfile" part of a
// multipart/form-data body (TAK Server also accepts "resource"), or the whole
// body. The part is streamed, never buffered whole.
func fileSource(r *http.Request, body io.Reader) (src io.Reader, partName, partType string, err error) {
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		return body, "", r.Header.Get("Content-Type"), nil
	}
	if params["boundary"] == "" {
		return nil, "", "", invalid("Content-Type", "multipart/form-data without a boundary")
	}
	mr := multipartReader(body, params["boundary"])
	for i := 0; i < 32; i++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			if isMaxBytes(err) {
				return nil, "", "", err
			}
			return nil, "", "", invalid("body", "malformed multipart body: %v", err)
		}
		if n := p.FormName(); n == "assetfile" || n == "resource" {
			return p, p.FileName(), p.Header.Get("Content-Type"), nil
		}
		// Other form fields are not used; skip them (the body limit bounds this).
		if _, err := io.Copy(io.Discard, p); err != nil {
			return nil, "", "", err
		}
	}
	return nil, "", "", invalid("assetfile", "the multipart body has no assetfile part")
}

// cleanName keeps the last path element of a client-supplied file name, as
// valid UTF-8 without control characters, at most 255 bytes.
func cleanName(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.ReplaceAll(s, "\\", "/")
	s = strings.Map(func(r rune) rune {
		if isControl(r) {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(path.Base(strings.TrimRight(s, "/")))
	if s == "." || s == "/" || s == ".." || s == "" {
		return ""
	}
	for len(s) > 255 {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// contentType is the client's type when it gives a real one, else a guess from
// the extension. The type is only ever served with Content-Disposition:
// attachment and nosniff, so a wrong one cannot make a browser run content.
func contentType(given, name string) string {
	if mt, _, err := mime.ParseMediaType(given); err == nil && mt != "application/octet-stream" &&
		mt != "application/x-www-form-urlencoded" && !strings.HasPrefix(mt, "multipart/") {
		// (curl -d and some HTTP libraries label any raw body as a form.)
		return mt
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		if mt, _, err := mime.ParseMediaType(t); err == nil {
			return mt
		}
	}
	return "application/octet-stream"
}

func splitKeywords(s string) []string {
	var out []string
	for _, k := range strings.Split(s, ",") {
		k = strings.TrimSpace(k)
		if k == "" || strings.ContainsFunc(k, isControl) {
			continue
		}
		if len(k) > maxKeywordLen {
			k = k[:maxKeywordLen]
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// visible returns the records of a hash the caller may see, newest first.
func (a *api) visible(ctx context.Context, c caller, hash string) ([]*bluehelm.Attachment, error) {
	all, err := a.cfg.Attachments.AttachmentsByHash(ctx, hash)
	if err != nil {
		return nil, err
	}
	var out []*bluehelm.Attachment
	for _, at := range all {
		if c.p.CanSee(at.Marking) {
			out = append(out, at)
		}
	}
	slices.SortStableFunc(out, func(x, y *bluehelm.Attachment) int { return y.CreatedAt.Compare(x.CreatedAt) })
	return out, nil
}

// missionQuery answers whether content is already on the server (ATAK asks before
// uploading): the content URL as text, or 404. Content the caller may not see is
// reported as absent, so the caller uploads its own copy (stored once, recorded
// with the caller's marking).
func (a *api) missionQuery(w http.ResponseWriter, r *http.Request, c caller) error {
	hash, err := hashParam(r)
	if err != nil {
		return err
	}
	vis, err := a.visible(r.Context(), c, hash)
	if err != nil {
		return err
	}
	if len(vis) == 0 || !a.cfg.Files.Has(hash) {
		return notFound("no file with hash %s", hash)
	}
	return writeText(w, "text/plain", a.contentURL(r, hash))
}

// content streams a file the caller may see; 404 when it may see no record of
// the hash, exactly as when there is none. Range requests and HEAD work (ATAK
// resumes downloads).
func (a *api) content(w http.ResponseWriter, r *http.Request, c caller) error {
	hash, err := hashParam(r)
	if err != nil {
		return err
	}
	vis, err := a.visible(r.Context(), c, hash)
	if err != nil {
		return err
	}
	if len(vis) == 0 {
		return notFound("no file with hash %s", hash)
	}
	f, err := a.cfg.Files.Open(hash)
	if err != nil {
		// A record without its bytes breaks the store's invariant: a server fault,
		// not a client's 404.
		return fmt.Errorf("marti: content %s has a record but no bytes: %w", hash, err)
	}
	defer f.Close()
	at := vis[0]
	h := w.Header()
	h.Set("Content-Type", at.ContentType)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": at.Name}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+hash+`"`)
	http.ServeContent(w, r, "", at.CreatedAt, f)
	return nil
}

// search lists the files the caller may see that carry every given keyword
// (ATAK asks for keywords=missionpackage), one entry per content, newest first.
func (a *api) search(w http.ResponseWriter, r *http.Request, c caller) error {
	kws := splitKeywords(query(r, "keywords", "keyword"))
	f := bluehelm.AttachmentFilter{Viewer: c.p, Limit: 1000}
	if len(kws) > 0 {
		f.Keyword = kws[0]
	}
	all, err := a.cfg.Attachments.Attachments(r.Context(), f)
	if err != nil {
		return err
	}
	slices.SortStableFunc(all, func(x, y *bluehelm.Attachment) int { return y.CreatedAt.Compare(x.CreatedAt) })
	results := []metadata{}
	seen := map[string]bool{}
	for _, at := range all {
		// The store applies the access rule; checking again costs nothing and
		// keeps a store bug from leaking a file's existence.
		if !c.p.CanSee(at.Marking) || seen[at.SHA256] {
			continue
		}
		ok := true
		for _, k := range kws {
			ok = ok && slices.Contains(at.Keywords, k)
		}
		if !ok {
			continue
		}
		seen[at.SHA256] = true
		results = append(results, metadataOf(at))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"resultCount": len(results), "results": results})
}

func multipartReader(body io.Reader, boundary string) *multipart.Reader {
	return multipart.NewReader(body, boundary)
}

func isMaxBytes(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// setTool answers the PUT ATAK sends right after a missionupload to mark the
// package "public" or "private" in TAK Server's sense. bluehelm does not widen or
// narrow access that way — who may see a file is decided by its marking and the
// access rule — so the call is accepted for a file the caller may see, and changes
// nothing; refusing it would make ATAK report the share as failed.
func (a *api) setTool(w http.ResponseWriter, r *http.Request, c caller) error {
	hash := strings.ToLower(r.PathValue("hash"))
	if !validHash(hash) {
		return invalid("hash", "must be 64 hex digits (SHA-256)")
	}
	tool, err := io.ReadAll(io.LimitReader(r.Body, 64))
	if err != nil {
		return err
	}
	switch strings.TrimSpace(string(tool)) {
	case "public", "private", "":
	default:
		return invalid("tool", "want public or private")
	}
	vis, err := a.visible(r.Context(), c, hash)
	if err != nil {
		return err
	}
	if len(vis) == 0 {
		return notFound("no file with hash %s", hash)
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
