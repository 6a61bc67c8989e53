package main

import (
	"crypto/subtle"
	"encoding/json"
	"log"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

const maxFormBytes = 8 << 10

type issuer struct {
	url          string
	signer       *signer
	users        *userStore
	clientID     string
	clientSecret string
	lifetime     time.Duration
	now          func() time.Time
}

// idClaims are the claims of an ID token; groups carry the user's groups as the file names them.
type idClaims struct {
	Issuer            string   `json:"iss"`
	Subject           string   `json:"sub"`
	Audience          string   `json:"aud"`
	Expiry            int64    `json:"exp"`
	IssuedAt          int64    `json:"iat"`
	NotBefore         int64    `json:"nbf"`
	PreferredUsername string   `json:"preferred_username"`
	Groups            []string `json:"groups"`
}

func (i *issuer) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", i.discovery)
	mux.HandleFunc("GET /keys", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, i.signer.jwks()) })
	mux.HandleFunc("POST /token", i.token)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok")) })
	return mux
}

func (i *issuer) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                i.url,
		"jwks_uri":                              i.url + "/keys",
		"token_endpoint":                        i.url + "/token",
		"grant_types_supported":                 []string{"password"},
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "groups", "profile"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "nbf", "preferred_username", "groups"},
	})
}

// token serves the resource owner password grant (RFC 6749 section 4.3) and answers with an ID token.
func (i *issuer) token(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body is not a form of at most 8 KiB")
		return
	}
	form := r.PostForm
	if !i.clientAuthenticated(r, form) {
		w.Header().Set("WWW-Authenticate", `Basic realm="caas-oidc"`)
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if grant := form.Get("grant_type"); grant != "password" {
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "only grant_type=password is served")
		return
	}
	if !slices.Contains(strings.Fields(form.Get("scope")), "openid") {
		oauthError(w, http.StatusBadRequest, "invalid_scope", "the scope must include openid")
		return
	}
	login, password := form.Get("username"), form.Get("password")
	if login == "" || password == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "username and password are required")
		return
	}
	users, err := i.users.current()
	if err != nil {
		log.Printf("caas-oidc: %v", err)
		oauthError(w, http.StatusInternalServerError, "server_error", "the users file cannot be read")
		return
	}
	u, ok := authenticate(users, login, password)
	if !ok {
		log.Printf("caas-oidc: password grant refused for %q", login)
		oauthError(w, http.StatusBadRequest, "invalid_grant", "invalid username or password")
		return
	}
	now := i.now()
	claims := idClaims{
		Issuer:            i.url,
		Subject:           u.Login,
		Audience:          i.clientID,
		Expiry:            now.Add(i.lifetime).Unix(),
		IssuedAt:          now.Unix(),
		NotBefore:         now.Unix(),
		PreferredUsername: u.Login,
		Groups:            append([]string{}, u.Groups...),
	}
	idToken, err := i.signer.sign(claims)
	if err != nil {
		log.Printf("caas-oidc: signing: %v", err)
		oauthError(w, http.StatusInternalServerError, "server_error", "the token could not be signed")
		return
	}
	log.Printf("caas-oidc: ID token issued to %q", u.Login)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		// There is no resource server but the API server, which takes the ID token; the access token is the same.
		"access_token": idToken,
		"id_token":     idToken,
		"token_type":   "bearer",
		"expires_in":   int64(i.lifetime.Seconds()),
		"scope":        "openid groups",
	})
}

// clientAuthenticated checks client_secret_basic, or client_secret_post, in constant time.
func (i *issuer) clientAuthenticated(r *http.Request, form url.Values) bool {
	id, secret, basic := r.BasicAuth()
	if basic {
		var err error
		if id, err = url.QueryUnescape(id); err != nil {
			return false
		}
		if secret, err = url.QueryUnescape(secret); err != nil {
			return false
		}
	} else {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(i.clientID)) == 1
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(i.clientSecret)) == 1
	return idOK && secretOK
}

func oauthError(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(body); err != nil {
		log.Printf("caas-oidc: writing a response: %v", err)
	}
}
