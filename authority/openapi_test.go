package authority_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc64"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/keyblob/keyblob"
)

// The checks of this file hold the server to spec/escrow-api.yaml: every
// exchange of the HTTP tests (newServer's handler is checkedHandler) must
// be one the document describes, its response body must validate against
// the document's schema for its route, method, status and media type, and
// a request the document calls invalid must not succeed. OpenAPI 3.1
// schemas are JSON Schema 2020-12, checked here by a validator of that
// draft with format assertions on.

// specURL names the document for the validator; nothing is loaded from it.
const specURL = "file:///spec/escrow-api.json"

// openAPI is the document, with its schemas compiled on first use. It is
// safe for concurrent use.
type openAPI struct {
	doc      map[string]any
	compiler *jsonschema.Compiler

	mu      sync.Mutex
	schemas map[string]*jsonschema.Schema // by JSON pointer
}

var (
	specOnce   sync.Once
	specLoaded *openAPI
	specErr    error
)

// loadOpenAPI returns the document, read once per test binary.
func loadOpenAPI(t testing.TB) *openAPI {
	t.Helper()
	specOnce.Do(func() { specLoaded, specErr = readOpenAPI("../spec/escrow-api.yaml") })
	if specErr != nil {
		t.Fatal(specErr)
	}
	return specLoaded
}

// readOpenAPI reads a YAML document as the JSON value it stands for.
func readOpenAPI(path string) (*openAPI, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var y any
	if err := yaml.Unmarshal(b, &y); err != nil {
		return nil, err
	}
	j, err := json.Marshal(y)
	if err != nil {
		return nil, fmt.Errorf("%s is not JSON: %v", path, err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(j))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(specURL, doc); err != nil {
		return nil, err
	}
	m, ok := doc.(map[string]any)
	if !ok || m["openapi"] != "3.1.0" {
		return nil, errors.New("not an OpenAPI 3.1.0 document")
	}
	return &openAPI{doc: m, compiler: c, schemas: map[string]*jsonschema.Schema{}}, nil
}

// ptr appends tokens to a JSON pointer, escaped.
func ptr(base string, tokens ...string) string {
	for _, t := range tokens {
		base += "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(t)
	}
	return base
}

// at returns the object at a JSON pointer, or nil if there is none.
func (o *openAPI) at(p string) map[string]any {
	var v any = o.doc
	for _, t := range strings.Split(p, "/")[1:] {
		switch c := v.(type) {
		case map[string]any:
			v = c[strings.NewReplacer("~1", "/", "~0", "~").Replace(t)]
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			v = c[i]
		default:
			return nil
		}
	}
	m, _ := v.(map[string]any)
	return m
}

// resolve follows the local $ref of the object at p, if it has one, and
// returns the pointer of the object it lands on.
func (o *openAPI) resolve(p string) string {
	for range 8 {
		ref, ok := o.at(p)["$ref"].(string)
		if !ok || !strings.HasPrefix(ref, "#/") {
			return p
		}
		p = ref[1:]
	}
	return p
}

// validate checks v against the schema at JSON pointer p.
func (o *openAPI) validate(p string, v any) error {
	o.mu.Lock()
	s, ok := o.schemas[p]
	if !ok {
		var frag strings.Builder
		for _, t := range strings.Split(p, "/")[1:] {
			frag.WriteString("/" + url.PathEscape(t))
		}
		var err error
		if s, err = o.compiler.Compile(specURL + "#" + frag.String()); err != nil {
			o.mu.Unlock()
			return fmt.Errorf("compiling the schema at %s: %v", p, err)
		}
		o.schemas[p] = s
	}
	o.mu.Unlock()
	return s.Validate(v)
}

// An exchange is one request the handler served, and its response.
type exchange struct {
	method, path, query string // path as sent, escaped
	reqType             []string
	reqBody             []byte
	status              int
	header              http.Header
	body                []byte
}

func (e *exchange) String() string {
	target := e.path
	if e.query != "" {
		target += "?" + e.query
	}
	return fmt.Sprintf("%s %.80s -> %d", e.method, target, e.status)
}

// route is what the document says of an exchange's path and method: the
// pointer of its operation (or of an x-unmatched- object), of its path
// item, and the values of the path's template segments.
type route struct {
	op, item string
	params   map[string]string
}

// route finds e's operation. A path none of the document's is answered
// by x-unmatched-path, a method its path lacks by x-unmatched-method.
func (o *openAPI) route(e *exchange) route {
	paths, _ := o.doc["paths"].(map[string]any)
	for tmpl := range paths {
		params, ok := matchPath(tmpl, e.path)
		if !ok {
			continue
		}
		item := o.resolve(ptr("/paths", tmpl))
		op := ptr(item, strings.ToLower(e.method))
		if !operationMethods[e.method] || o.at(op) == nil {
			return route{op: "/x-unmatched-method"}
		}
		return route{op: op, item: item, params: params}
	}
	return route{op: "/x-unmatched-path"}
}

// operationMethods are the methods a path item may hold an operation of.
var operationMethods = map[string]bool{"GET": true, "PUT": true, "POST": true, "DELETE": true,
	"OPTIONS": true, "HEAD": true, "PATCH": true, "TRACE": true}

// matchPath matches an escaped path against a path template, whose
// "{name}" segments match any one non-empty segment, and "{name}suffix"
// segments one that is a non-empty value and the suffix (a partial
// tile's "{index}.p").
func matchPath(tmpl, path string) (map[string]string, bool) {
	ts, ps := strings.Split(tmpl, "/"), strings.Split(path, "/")
	if len(ts) != len(ps) {
		return nil, false
	}
	params := map[string]string{}
	for i, t := range ts {
		name, suffix, isParam := strings.Cut(strings.TrimPrefix(t, "{"), "}")
		value, hasSuffix := strings.CutSuffix(ps[i], suffix)
		switch {
		case strings.HasPrefix(t, "{") && isParam && hasSuffix && value != "":
			v, err := url.PathUnescape(value)
			if err != nil {
				v = value
			}
			params[name] = v
		case t != ps[i]:
			return nil, false
		}
	}
	return params, true
}

// check returns what is wrong with e by the document, or nil.
func (o *openAPI) check(e *exchange) error {
	r := o.route(e)
	if err := o.checkResponse(r.op, e); err != nil {
		return err
	}
	if r.item == "" || e.status < 200 || e.status > 299 {
		return nil
	}
	if err := o.checkRequest(r, e); err != nil {
		return fmt.Errorf("the document refuses the request (%v), the server accepted it", err)
	}
	return nil
}

// checkResponse checks e's status, headers and body against the
// responses of the operation at op.
func (o *openAPI) checkResponse(op string, e *exchange) error {
	resp := ptr(op, "responses", strconv.Itoa(e.status))
	if o.at(resp) == nil {
		return fmt.Errorf("status %d is not documented for %s", e.status, op)
	}
	resp = o.resolve(resp)
	if err := o.checkHeaders(resp, e.header); err != nil {
		return err
	}
	content := o.at(ptr(resp, "content"))
	if content == nil {
		if len(e.body) > 0 {
			return fmt.Errorf("%s has no content, the server sent %d bytes", resp, len(e.body))
		}
		return nil
	}
	mt, _, err := mime.ParseMediaType(e.header.Get("Content-Type"))
	if err != nil || content[mt] == nil {
		return fmt.Errorf("%s has no media type %q", resp, e.header.Get("Content-Type"))
	}
	body, err := decodedBody(e.header, e.body)
	if err != nil {
		return err
	}
	v, err := bodyValue(mt, body)
	if err != nil {
		return fmt.Errorf("the response body: %v", err)
	}
	if err := o.validate(ptr(resp, "content", mt, "schema"), v); err != nil {
		return fmt.Errorf("the response body %.200q does not validate against %s: %v", body, resp, err)
	}
	return nil
}

// checkHeaders checks the headers a response object declares: present
// if required, and of their schema.
func (o *openAPI) checkHeaders(resp string, h http.Header) error {
	for name := range o.at(ptr(resp, "headers")) {
		hp := o.resolve(ptr(resp, "headers", name))
		vs := h.Values(name)
		switch {
		case len(vs) == 0 && o.at(hp)["required"] == true:
			return fmt.Errorf("%s requires the header %s", resp, name)
		case len(vs) == 0:
			continue
		case len(vs) > 1:
			return fmt.Errorf("the header %s %d times", name, len(vs))
		}
		if err := o.validate(ptr(hp, "schema"), o.scalar(ptr(hp, "schema"), vs[0])); err != nil {
			return fmt.Errorf("the header %s %q: %v", name, vs[0], err)
		}
	}
	return nil
}

// scalar returns a header or parameter value as the JSON value it stands
// for under the schema at p: a number where the schema is an integer
// (and the text is a JSON number), else the string.
func (o *openAPI) scalar(p, s string) any {
	if o.at(o.resolve(p))["type"] != "integer" {
		return s
	}
	if v, err := jsonschema.UnmarshalJSON(strings.NewReader(s)); err == nil {
		if n, ok := v.(json.Number); ok {
			return n
		}
	}
	return s
}

// decodedBody undoes a gzip Content-Encoding (promhttp's).
func decodedBody(h http.Header, body []byte) ([]byte, error) {
	switch h.Get("Content-Encoding") {
	case "":
		return body, nil
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	}
	return nil, fmt.Errorf("content encoding %q", h.Get("Content-Encoding"))
}

// bodyValue returns a body as the JSON value a schema describes: the
// value of a JSON body, the text of a text/plain one, the bytes of an
// octet-stream one as a string (whose length a schema bounds from
// above: no run of bytes counts as more characters than bytes).
func bodyValue(mt string, body []byte) (any, error) {
	switch mt {
	case "application/json":
		return jsonschema.UnmarshalJSON(bytes.NewReader(body))
	case "text/plain", "application/octet-stream":
		return string(body), nil
	}
	return nil, fmt.Errorf("no check for media type %s", mt)
}

// checkRequest checks e's parameters and body against its operation.
func (o *openAPI) checkRequest(r route, e *exchange) error {
	if err := o.checkParams(r, e); err != nil {
		return err
	}
	rb := ptr(r.op, "requestBody")
	if o.at(rb) == nil {
		if len(e.reqBody) > 0 {
			return fmt.Errorf("the operation takes no body, it had %d bytes", len(e.reqBody))
		}
		return nil
	}
	rb = o.resolve(rb)
	if len(e.reqBody) == 0 && o.at(rb)["required"] == true {
		return errors.New("no body")
	}
	if len(e.reqType) != 1 {
		return fmt.Errorf("%d Content-Type headers", len(e.reqType))
	}
	mt, _, err := mime.ParseMediaType(e.reqType[0])
	if err != nil || o.at(ptr(rb, "content", mt)) == nil {
		return fmt.Errorf("media type %q", e.reqType[0])
	}
	v, err := bodyValue(mt, e.reqBody)
	if err != nil {
		return err
	}
	return o.validate(ptr(rb, "content", mt, "schema"), v)
}

// checkParams checks the path and query parameters of e: each query
// parameter declared, once, and every value of its schema.
func (o *openAPI) checkParams(r route, e *exchange) error {
	declared := map[string]string{} // "in/name" -> pointer
	for _, base := range []string{r.item, r.op} {
		list, _ := o.at(base)["parameters"].([]any)
		for i := range list {
			p := o.resolve(ptr(base, "parameters", strconv.Itoa(i)))
			declared[fmt.Sprint(o.at(p)["in"], "/", o.at(p)["name"])] = p
		}
	}
	q, err := url.ParseQuery(e.query)
	if err != nil {
		return fmt.Errorf("query string: %v", err)
	}
	for name, vs := range q {
		p, ok := declared["query/"+name]
		if !ok || len(vs) != 1 {
			return fmt.Errorf("query parameter %q (%d values)", name, len(vs))
		}
		if err := o.validate(ptr(p, "schema"), o.scalar(ptr(p, "schema"), vs[0])); err != nil {
			return fmt.Errorf("query parameter %q: %v", name, err)
		}
	}
	for name, v := range r.params {
		p, ok := declared["path/"+name]
		if !ok {
			return fmt.Errorf("path parameter %q is not declared", name)
		}
		if err := o.validate(ptr(p, "schema"), o.scalar(ptr(p, "schema"), v)); err != nil {
			return fmt.Errorf("path parameter %q: %v", name, err)
		}
	}
	return nil
}

// recorder keeps a copy of a response.
type recorder struct {
	http.ResponseWriter
	status int
	header http.Header
	body   bytes.Buffer
}

func (w *recorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status, w.header = code, w.ResponseWriter.Header().Clone()
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

// checkedHandler returns h, keeping every exchange it serves, and checks
// them all against the document when t ends. Register the server's Close
// after calling it, so that Close (which waits for the requests under
// way) runs before the check.
func checkedHandler(t testing.TB, h http.Handler) http.Handler {
	o := loadOpenAPI(t)
	var mu sync.Mutex
	var log []*exchange
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range log {
			if err := o.check(e); err != nil {
				t.Errorf("spec/escrow-api.yaml: %v: %v", e, err)
			}
		}
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("reading a request body: %v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		e := &exchange{method: r.Method, path: r.URL.EscapedPath(), query: r.URL.RawQuery,
			reqType: r.Header.Values("Content-Type"), reqBody: body}
		rec := &recorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.WriteHeader(http.StatusOK)
		}
		e.status, e.header, e.body = rec.status, rec.header, rec.body.Bytes()
		mu.Lock()
		log = append(log, e)
		mu.Unlock()
	})
}

// TestOpenAPIServiceRoutes sends the unsigned routes through the checked
// handler: /healthz, /metrics and /v1/authority, and a few refusals.
func TestOpenAPIServiceRoutes(t *testing.T) {
	s := newServer(t, sqliteStore(t), 0)
	for _, c := range []struct {
		method, path string
		body         []byte
		want         int
	}{
		{"GET", "/healthz", nil, 200},
		{"GET", "/metrics", nil, 200},
		{"GET", "/v1/authority", nil, 200},
		{"GET", "/v1/authority?x=1", nil, 400},
		{"GET", "/v1/authority", []byte("{}"), 400},
		{"GET", "/v1/authority", make([]byte, 70_000), 413},
		{"DELETE", "/v1/authority", nil, 405},
		{"GET", "/v1/nothing", nil, 404},
		{"GET", "/v1/recoveries/" + strings.Repeat("0", 32), nil, 401},
	} {
		if resp := send(t, s, c.method, c.path, c.body); resp.StatusCode != c.want {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, resp.StatusCode, c.want)
		}
	}
}

// TestOpenAPIStoreDown sends requests to a server whose store is
// closed: the 503 answers, with their Retry-After, are the document's.
func TestOpenAPIStoreDown(t *testing.T) {
	st := sqliteStore(t)
	s := newServer(t, st, 0)
	alice := identity(t, "alice")
	if _, _, err := s.client.Enroll(t.Context(), alice); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if resp := send(t, s, "GET", "/healthz", nil); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("healthz: %d", resp.StatusCode)
	}
	if got := bodyOf(t, s, alice, "GET", "/v1/deposits"); !strings.HasPrefix(got, "503 ") {
		t.Errorf("deposits: %.100s", got)
	}
}

// TestOpenAPICheck checks the checker: exchanges the document does not
// describe are reported, and ones it does are not.
func TestOpenAPICheck(t *testing.T) {
	o := loadOpenAPI(t)
	jsonH := http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}}
	allow := http.Header{"Content-Type": {"application/json"}, "Allow": {"GET, HEAD"}}
	errBody := []byte(`{"error":"bad_request","message":"x"}`)
	enroll := []byte(`{"recipient":"keyblob:x25519:AgAg:AAAAAAAAAAA","sealed_code":"AA"}`)
	for _, c := range []struct {
		name string
		e    exchange
		ok   bool
	}{
		{"error", exchange{method: "POST", path: "/v1/enroll", status: 400, header: jsonH, body: errBody}, true},
		{"405", exchange{method: "PUT", path: "/v1/authority", status: 405, header: allow,
			body: []byte(`{"error":"method_not_allowed","message":"x"}`)}, true},
		{"unknown path", exchange{method: "GET", path: "/v2", status: 404, header: jsonH,
			body: []byte(`{"error":"not_found","message":"x"}`)}, true},
		{"undocumented status", exchange{method: "POST", path: "/v1/enroll", status: 204, header: jsonH}, false},
		{"undocumented method status", exchange{method: "PUT", path: "/v1/enroll", status: 400, header: jsonH, body: errBody}, false},
		{"unknown path 200", exchange{method: "GET", path: "/v1/nothing", status: 200, header: jsonH, body: []byte(`{}`)}, false},
		{"405 without Allow", exchange{method: "PUT", path: "/v1/authority", status: 405, header: jsonH,
			body: []byte(`{"error":"method_not_allowed","message":"x"}`)}, false},
		{"unknown error code", exchange{method: "POST", path: "/v1/enroll", status: 400, header: jsonH,
			body: []byte(`{"error":"oops","message":"x"}`)}, false},
		{"missing member", exchange{method: "POST", path: "/v1/enroll", status: 400, header: jsonH,
			body: []byte(`{"error":"bad_request"}`)}, false},
		{"extra member", exchange{method: "POST", path: "/v1/enroll", status: 400, header: jsonH,
			body: []byte(`{"error":"bad_request","message":"x","x":1}`)}, false},
		{"wrong media type", exchange{method: "POST", path: "/v1/enroll", status: 400,
			header: http.Header{"Content-Type": {"text/plain"}}, body: errBody}, false},
		{"not JSON", exchange{method: "POST", path: "/v1/enroll", status: 400, header: jsonH, body: []byte(`{`)}, false},
		{"healthz", exchange{method: "GET", path: "/healthz", status: 200,
			header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, body: []byte("ok\n")}, true},
		{"healthz text", exchange{method: "GET", path: "/healthz", status: 200,
			header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, body: []byte("fine\n")}, false},
		{"accepted an invalid request", exchange{method: "POST", path: "/v1/enroll", reqType: []string{"application/json"},
			reqBody: enroll, status: 201, header: jsonH, body: []byte(`{}`)}, false},
		{"accepted a bad query", exchange{method: "GET", path: "/v1/deposits", query: "limit=0", status: 200, header: jsonH,
			body: []byte(`{"deposits":[],"next":null}`)}, false},
		{"accepted a bad id", exchange{method: "GET", path: "/v1/recoveries/AB", status: 200, header: jsonH,
			body: []byte(`{}`)}, false},
		{"list", exchange{method: "GET", path: "/v1/deposits", query: "limit=5&after=7", status: 200, header: jsonH,
			body: []byte(`{"deposits":[],"next":null}`)}, true},
		{"no Cache-Control", exchange{method: "GET", path: "/v1/deposits", status: 200,
			header: http.Header{"Content-Type": {"application/json"}}, body: []byte(`{"deposits":[],"next":null}`)}, false},
		{"503 without Retry-After", exchange{method: "GET", path: "/v1/deposits", status: 503, header: jsonH,
			body: []byte(`{"error":"unavailable","message":"x"}`)}, false},
		{"a Retry-After not a number", exchange{method: "GET", path: "/v1/deposits", status: 503,
			header: http.Header{"Content-Type": {"application/json"}, "Retry-After": {"soon"}},
			body:   []byte(`{"error":"unavailable","message":"x"}`)}, false},
	} {
		err := o.check(&c.e)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v, want ok %v", c.name, err, c.ok)
		}
	}
}

// TestOpenAPIOperations checks that the document's operations are the
// ones checkedHandler routes to, so that none is read as unmatched.
func TestOpenAPIOperations(t *testing.T) {
	o := loadOpenAPI(t)
	var got []string
	paths, _ := o.doc["paths"].(map[string]any)
	for tmpl := range paths {
		for _, m := range []string{"GET", "POST"} {
			path := strings.NewReplacer("{id}", strings.Repeat("ab", 16), "{level}", "0", "{index}", "000", "{width}", "1").Replace(tmpl)
			if r := o.route(&exchange{method: m, path: path}); !strings.HasPrefix(r.op, "/x-") {
				got = append(got, m+" "+tmpl)
			}
		}
	}
	sort.Strings(got)
	if len(got) != 18 {
		t.Errorf("%d operations: %v", len(got), got)
	}
}

// encodedLines returns recipient lines as the encoder writes them, of
// every kind: each kind GenerateIdentity makes (rsa-4096 not in -short),
// its exchange-only and signing-only halves, and one RSA key in both
// roles, as a PEM file of one key reads.
func encodedLines(t *testing.T) map[string]string {
	lines := map[string]string{}
	add := func(r *keyblob.Recipient, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		lines[r.Kind()] = r.String()
	}
	for _, kind := range keyblob.Kinds() {
		if kind == keyblob.KindRSA4096 && testing.Short() {
			continue
		}
		id, err := keyblob.GenerateIdentity(kind)
		if err != nil {
			t.Fatal(err)
		}
		r := id.Recipient()
		add(r, nil)
		add(keyblob.ParseExchangeKey(r.ExchangeAlg(), r.ExchangeKeyBytes()))
		add(keyblob.ParseSigningKey(r.SignatureAlg(), r.SigningKeyBytes()))
		if kind == keyblob.KindRSA2048 {
			pemFile, err := r.MarshalPEM()
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := bytes.Cut(pemFile, []byte("-----END PUBLIC KEY-----\n"))
			one, err := keyblob.ParseRecipient(append(first, "-----END PUBLIC KEY-----\n"...))
			add(one, err)
			lines["rsa-2048 one key"] = one.String()
		}
	}
	return lines
}

// withChecksum returns text and its right checksum, as the encoder would
// end a line of that text.
func withChecksum(text string) string {
	sum := crc64.Checksum([]byte(text), crc64.MakeTable(crc64.ECMA))
	return text + ":" + base64.RawURLEncoding.EncodeToString(binary.BigEndian.AppendUint64(nil, sum))
}

// TestRecipientLineSchema checks the document's RecipientLine against
// the encoder: every line it writes validates, and lines of another
// shape (no checksum, bad characters, an impossible kind) do not.
func TestRecipientLineSchema(t *testing.T) {
	o := loadOpenAPI(t)
	const schema = "/components/schemas/RecipientLine"
	lines := encodedLines(t)
	for kind, line := range lines {
		if _, err := keyblob.ParseRecipientLine(line); err != nil {
			t.Fatalf("%s: the encoder's line does not parse: %v", kind, err)
		}
		if err := o.validate(schema, line); err != nil {
			t.Errorf("%s: %v", kind, err)
		}
	}
	good := lines[keyblob.KindX25519]
	i := strings.LastIndexByte(good, ':')
	text, sum := good[:i], good[i+1:]
	body := text[len("keyblob:x25519:"):]
	if len(body)%4 != 2 {
		t.Fatalf("an x25519 body of %d characters; the cases below assume 4n+2", len(body))
	}
	for name, line := range map[string]string{
		"no checksum":                 text,
		"empty checksum":              text + ":",
		"short checksum":              text + ":" + sum[:10],
		"long checksum":               good + "A",
		"checksum with unused bits":   text + ":" + sum[:10] + "B",
		"checksum of standard base64": text + ":" + sum[:9] + "+" + sum[10:],
		"two checksums":               good + ":" + sum,
		"no body":                     withChecksum("keyblob:x25519:"),
		"padded body":                 withChecksum(text + "=="),
		"standard alphabet":           withChecksum("keyblob:x25519:" + body[:5] + "+" + body[6:]),
		"space in the body":           withChecksum("keyblob:x25519:" + body[:5] + " " + body[6:]),
		"body with unused bits":       withChecksum("keyblob:x25519:" + body[:len(body)-1] + "B"),
		"body of 4n+1 characters":     withChecksum(text + "AAA"), // 94 + 3
		"upper-case prefix":           withChecksum("KEYBLOB:x25519:" + body),
		"no prefix":                   withChecksum("x25519:" + body),
		"trailing space":              good + " ",
		"line break":                  good + "\n",
		"over 8192 bytes":             withChecksum("keyblob:x25519:" + strings.Repeat("AAAA", 2048)),
	} {
		if err := o.validate(schema, line); err == nil {
			t.Errorf("%s: %.60q... validates", name, line)
		}
	}
	checkKindGrammar(t, o, schema, body)
	checkRecipientVectors(t, o, schema)
}

// shapeErrors are the vectors of testdata/recipient whose lines the
// pattern refuses by their shape alone; the other failures need the
// decoder (a checksum's value, a key's encoding, the kind of the keys).
var shapeErrors = map[string]bool{
	"malformed-no-checksum": true, "malformed-no-kind": true, "malformed-no-prefix": true,
	"malformed-padded": true, "malformed-standard-alphabet": true, "malformed-too-long": true,
	"malformed-trailing-bits": true, "malformed-upper-case-prefix": true,
	"typo-added-colon": true, "typo-checksum-unused-bits": true, "typo-dropped-separator": true,
	"typo-replaced-separator": true, "typo-swapped-separator": true, "typo-substituted-kind": true,
	"typo-trailing-space": true,
}

// checkRecipientVectors checks the lines of testdata/recipient: every
// valid one validates, and those of shapeErrors do not.
func checkRecipientVectors(t *testing.T, o *openAPI, schema string) {
	files, err := filepath.Glob("../testdata/recipient/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no recipient vectors: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		head, line, _ := strings.Cut(string(b), "\n\n")
		line = strings.TrimSuffix(line, "\n")
		name := strings.TrimSuffix(filepath.Base(f), ".txt")
		err = o.validate(schema, line)
		switch {
		case strings.HasPrefix(head, "expect: success\n") && err != nil:
			t.Errorf("%s: a valid line does not validate: %v", name, err)
		case shapeErrors[name] && err == nil:
			t.Errorf("%s: validates", name)
		}
	}
}

// checkKindGrammar checks the kinds the pattern allows: those of
// spec/blob.md section 6.1, with RSA keys of 2048 to 4096 bits.
func checkKindGrammar(t *testing.T, o *openAPI, schema, body string) {
	for _, c := range []struct {
		kind string
		ok   bool
	}{
		{"hybrid", true}, {"x25519", true}, {"hybrid-exchange", true}, {"x25519-exchange", true},
		{"ed25519-signing", true}, {"rsa-2048", true}, {"rsa-2049", true}, {"rsa-2099", true},
		{"rsa-2100", true}, {"rsa-2999", true}, {"rsa-3000", true}, {"rsa-4089", true},
		{"rsa-4090-exchange", true}, {"rsa-4096-signing", true},
		{"rsa-2047", false}, {"rsa-4097", false}, {"rsa-5000", false}, {"rsa-1024", false},
		{"rsa-02048", false}, {"rsa", false}, {"rsa-", false}, {"ed25519", false},
		{"ed25519-exchange", false}, {"x25519-signing", false}, {"hybrid-signing", false},
		{"Hybrid", false}, {"x25519-exchange-signing", false}, {"", false},
	} {
		err := o.validate(schema, withChecksum("keyblob:"+c.kind+":"+body))
		if (err == nil) != c.ok {
			t.Errorf("kind %q: %v, want ok %v", c.kind, err, c.ok)
		}
	}
}
