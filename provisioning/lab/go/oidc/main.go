// Command caas-oidc is the lab's OIDC issuer, the subset of Dex the suite needs: static users with
// salted password hashes and groups, the resource owner password grant, RS256 ID tokens, discovery
// and JWKS. It is what UAA was to PKS: the issuer the Kubernetes API server trusts for user tokens.
//
// Endpoints (HTTPS only):
//
//	GET  /.well-known/openid-configuration  discovery document
//	GET  /keys                              JWKS with the one signing key
//	POST /token                             grant_type=password (client authenticated, scope openid)
//	GET  /healthz                           "ok"
//
// The users file is JSON ({"users": [{"login", "salt", "iterations", "hash", "groups"}]}, salt and hash
// base64, hash = PBKDF2-HMAC-SHA256(password, salt, iterations, 32)); it is read again whenever it
// changes, so users can be added while the issuer runs. Secrets (the client secret, the keys) come
// from files, never from the command line.
package main

import (
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
)

func main() {
	issuerURL := flag.String("issuer", "", "issuer URL (https://host:port), the iss claim and the base of every endpoint")
	listen := flag.String("listen", "", "address to serve on (host:port)")
	tlsCert := flag.String("tls-cert", "", "serving certificate (PEM)")
	tlsKey := flag.String("tls-key", "", "serving key (PEM)")
	signingKey := flag.String("signing-key", "", "RSA private key that signs ID tokens (PEM, PKCS#8 or PKCS#1)")
	usersFile := flag.String("users", "", "users file (JSON), read again when it changes")
	clientID := flag.String("client-id", "", "the one client: its id, which is also the tokens' audience")
	clientSecretFile := flag.String("client-secret-file", "", "file holding the client's secret")
	lifetime := flag.Duration("token-lifetime", 10*time.Minute, "how long an ID token is valid")
	flag.Parse()

	missing := []string{}
	for name, value := range map[string]string{
		"issuer": *issuerURL, "listen": *listen, "tls-cert": *tlsCert, "tls-key": *tlsKey,
		"signing-key": *signingKey, "users": *usersFile, "client-id": *clientID, "client-secret-file": *clientSecretFile,
	} {
		if value == "" {
			missing = append(missing, "--"+name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		log.Fatalf("caas-oidc: missing flags: %s", strings.Join(missing, ", "))
	}
	if !strings.HasPrefix(*issuerURL, "https://") || strings.HasSuffix(*issuerURL, "/") {
		log.Fatalf("caas-oidc: --issuer %q must be an https:// URL without a trailing slash", *issuerURL)
	}
	if *lifetime <= 0 || *lifetime > 24*time.Hour {
		log.Fatalf("caas-oidc: --token-lifetime %s is out of range (0 to 24h)", *lifetime)
	}
	signer, err := loadSigner(*signingKey)
	if err != nil {
		log.Fatalf("caas-oidc: %v", err)
	}
	secret, err := os.ReadFile(*clientSecretFile)
	if err != nil {
		log.Fatalf("caas-oidc: client secret: %v", err)
	}
	users := &userStore{path: *usersFile}
	if _, err := users.current(); err != nil {
		log.Fatalf("caas-oidc: %v", err)
	}
	issuer := &issuer{
		url:          *issuerURL,
		signer:       signer,
		users:        users,
		clientID:     *clientID,
		clientSecret: strings.TrimSpace(string(secret)),
		lifetime:     *lifetime,
		now:          time.Now,
	}
	server := &http.Server{
		Addr:              *listen,
		Handler:           issuer.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          log.New(os.Stderr, "caas-oidc: http: ", log.LstdFlags),
	}
	go func() {
		signals := make(chan os.Signal, 1)
		signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM)
		<-signals
		server.Close()
	}()
	fmt.Printf("caas-oidc: serving %s on %s\n", *issuerURL, *listen)
	if err := server.ListenAndServeTLS(*tlsCert, *tlsKey); err != nil && err != http.ErrServerClosed {
		log.Fatalf("caas-oidc: %v", err)
	}
}
