package console_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/datavenue/datavenue"
)

// testIdP is a small OpenID Connect provider in the test process: discovery, an authorize page a
// person signs in on (choosing one of its users), a token endpoint that checks the client's
// secret, the redirect URI and the PKCE verifier, and its JWKS. It signs ID tokens with RS256, as
// government identity services commonly do.
type testIdP struct {
	*httptest.Server
	t            *testing.T
	key          *rsa.PrivateKey
	kid          string
	clientID     string
	clientSecret string
	users        []idpUser
	now          func() time.Time // the venue's clock: a test may set it behind
	postLogout   string           // the console's registered post-logout redirect URI

	mu        sync.Mutex
	codes     map[string]grant
	exchanged int      // token requests that succeeded
	logouts   []string // subjects signed out at the provider (RP-initiated logout)
}

// Logouts are the subjects whose sessions the provider ended at the console's request.
func (p *testIdP) Logouts() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.logouts...)
}

// Exchanged is how many codes the provider exchanged for tokens.
func (p *testIdP) Exchanged() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exchanged
}

// idpUser is a user of the provider with the venue's claims.
type idpUser struct {
	Subject, Name string
	Role          datavenue.Role
	Org           datavenue.OrgID
	// Claims, when set, are the ID token's claims instead of role and org: a provider that names
	// them its own way (a list of roles, a unit code).
	Claims map[string]any
}

type grant struct {
	user                          idpUser
	nonce, challenge, redirectURI string
	issued                        time.Time
}

func newTestIdP(t *testing.T, users ...idpUser) *testIdP {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &testIdP{t: t, key: key, kid: "idp-key-1", clientID: "datavenue-console", clientSecret: "console-secret",
		users: users, codes: map[string]grant{}, now: time.Now}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /authorize", p.authorizePage)
	mux.HandleFunc("POST /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /logout", p.endSession)
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

func (p *testIdP) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{"issuer": p.URL, "authorization_endpoint": p.URL + "/authorize", "token_endpoint": p.URL + "/token",
		"jwks_uri": p.URL + "/jwks", "end_session_endpoint": p.URL + "/logout", "response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"}})
}

var idpPage = template.Must(template.New("idp").Parse(`<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>统一身份认证</title></head>
<body><main><h1>统一身份认证平台</h1><form method="post" action="/authorize">
{{range $k, $v := .Query}}<input type="hidden" name="{{$k}}" value="{{index $v 0}}">{{end}}
<label for="user">用户</label><select id="user" name="user">{{range .Users}}<option value="{{.Subject}}">{{.Name}}</option>{{end}}</select>
<button type="submit" id="idp-submit">登录</button></form></main></body></html>`))

// authorizePage checks the request as a provider would and shows the sign-in form.
func (p *testIdP) authorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != p.clientID || q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" ||
		q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" {
		http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
		return
	}
	_ = idpPage.Execute(w, map[string]any{"Query": q, "Users": p.users})
}

// authorize signs the chosen user in and sends the browser back with a one-time code.
func (p *testIdP) authorize(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	var user *idpUser
	for i := range p.users {
		if p.users[i].Subject == r.PostForm.Get("user") {
			user = &p.users[i]
		}
	}
	if user == nil {
		http.Error(w, "no such user", http.StatusBadRequest)
		return
	}
	code := rand.Text()
	p.mu.Lock()
	p.codes[code] = grant{user: *user, nonce: r.PostForm.Get("nonce"), challenge: r.PostForm.Get("code_challenge"),
		redirectURI: r.PostForm.Get("redirect_uri"), issued: time.Now()}
	p.mu.Unlock()
	back, _ := url.Parse(r.PostForm.Get("redirect_uri"))
	bq := back.Query()
	bq.Set("code", code)
	bq.Set("state", r.PostForm.Get("state"))
	back.RawQuery = bq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// token exchanges a code: once only, for the client that holds the secret, with the redirect URI
// and the verifier whose S256 challenge the authorize request carried.
func (p *testIdP) token(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.clientID || secret != p.clientSecret {
		w.WriteHeader(http.StatusUnauthorized)
		writeJSON(w, map[string]string{"error": "invalid_client"})
		return
	}
	p.mu.Lock()
	g, found := p.codes[r.PostForm.Get("code")]
	delete(p.codes, r.PostForm.Get("code"))
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !found || r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("redirect_uri") != g.redirectURI ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		w.WriteHeader(http.StatusBadRequest)
		writeJSON(w, map[string]string{"error": "invalid_grant"})
		return
	}
	now := p.now()
	claims := jwt.MapClaims{"iss": p.URL, "sub": g.user.Subject, "aud": p.clientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"nonce": g.nonce, "name": g.user.Name, "role": string(g.user.Role), "org": string(g.user.Org)}
	if g.user.Claims != nil {
		delete(claims, "role")
		delete(claims, "org")
		for k, v := range g.user.Claims {
			claims[k] = v
		}
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = p.kid
	signed, err := tok.SignedString(p.key)
	if err != nil {
		p.t.Error(err)
		return
	}
	p.mu.Lock()
	p.exchanged++
	p.mu.Unlock()
	writeJSON(w, map[string]any{"access_token": rand.Text(), "token_type": "Bearer", "expires_in": 300, "id_token": signed})
}

// endSession is RP-initiated logout: the hint must be an ID token this provider issued to the
// console, the return address the console's registered one; the subject's session ends and the
// browser goes back.
func (p *testIdP) endSession(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	tok, err := jwt.Parse(q.Get("id_token_hint"), func(*jwt.Token) (any, error) { return &p.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithAudience(p.clientID), jwt.WithIssuer(p.URL), jwt.WithoutClaimsValidation())
	back := q.Get("post_logout_redirect_uri")
	if err != nil || q.Get("client_id") != p.clientID || back != p.postLogout {
		http.Error(w, "bad logout request", http.StatusBadRequest)
		return
	}
	sub, _ := tok.Claims.GetSubject()
	p.mu.Lock()
	p.logouts = append(p.logouts, sub)
	p.mu.Unlock()
	http.Redirect(w, r, back, http.StatusFound)
}

func (p *testIdP) jwks(w http.ResponseWriter, r *http.Request) {
	pub := p.key.PublicKey
	writeJSON(w, map[string]any{"keys": []map[string]string{{"kty": "RSA", "kid": p.kid, "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()), "e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes())}}})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		fmt.Println(err)
	}
}
