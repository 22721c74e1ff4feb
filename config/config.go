// Package config reads the venue's settings from environment variables. Every variable is listed
// once in Vars with its default and meaning; `datavenue --help` prints that table, so the help and
// the behaviour cannot disagree.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Var is one setting.
// It is a row of a table rather than a struct tag so that Help and Load's defaults come from one
// list, and a variable cannot be read without being documented.
type Var struct {
	Name    string
	Default string
	Help    string
}

// Vars are all settings, in the order --help shows them.
// Load panics on a name missing from this list, so adding a setting means adding its row here
// first; keep the README's list of variables in step by hand.
var Vars = []Var{
	{"DATAVENUE_DATABASE_URL", "postgres://datavenue@127.0.0.1:55432/datavenue?sslmode=disable", "PostgreSQL connection URL (make run sets it, password included, for the local instance)"},
	{"DATAVENUE_DATABASE_READ_URL", "", "PostgreSQL hot standby URL for the public catalogue's anonymous reads (search, product pages, DCAT export); empty: every read goes to the primary"},
	{"DATAVENUE_READ_MAX_LAG", "5s", "how far behind the primary the standby may be for catalogue reads to use it; further behind, or unreachable, they go to the primary (a Go duration)"},
	{"DATAVENUE_REDIS_URL", "redis://127.0.0.1:56379/0", "Redis connection URL (a single Redis; see DATAVENUE_REDIS_CLUSTER for a cluster)"},
	{"DATAVENUE_REDIS_CLUSTER", "", "a Redis Cluster instead of DATAVENUE_REDIS_URL: its seed nodes, comma-separated host:port (e.g. 10.0.0.1:6379,10.0.0.2:6379; the others are discovered), or go-redis's cluster URL for a password or TLS: redis[s]://[user:password@]host:port?addr=host:port&addr=…"},
	{"DATAVENUE_LISTEN", "127.0.0.1:8080", "address the HTTP API listens on"},
	{"DATAVENUE_PUBLIC_URL", "", "the venue's public base URL (scheme, host, any path prefix), used in the identifiers of what it publishes (DCAT); empty: http:// and DATAVENUE_LISTEN. Never taken from a request's Host"},
	{"DATAVENUE_CATALOGUE_PUBLISHER", "datavenue 公共数据资产交易平台", "the venue's name as the publisher of its DCAT-AP catalogue"},
	{"DATAVENUE_CORS_ORIGINS", "", "browser origins allowed to call the API, comma-separated (e.g. https://console.example.cn); empty: none"},
	{"DATAVENUE_METRICS_LISTEN", "", "serve the Prometheus metrics on this address of their own (e.g. 127.0.0.1:9464), without a token; empty: at /metrics on the API, for a clerk's or an auditor's token"},
	{"DATAVENUE_KEY_DIR", ".data/keys", "folder of the venue's Ed25519 signing keys (PKCS#8 PEM, one per file; the newest signs, all verify)"},
	{"DATAVENUE_JWT_ISSUER", "urn:datavenue:dev", "\"iss\" of tokens minted by the venue's own (development) issuer"},
	{"DATAVENUE_JWT_AUDIENCE", "datavenue", "\"aud\" every accepted token must carry"},
	{"DATAVENUE_DEV_ISSUER", "true", "trust tokens signed by the venue's own keys (set false in production, where an identity provider issues tokens)"},
	{"DATAVENUE_TRUSTED_ISSUERS", "", "external token issuers, ';'-separated: ISSUER=jwks:URL or ISSUER=file:PUBLIC_KEY.pem[#KID]"},
	{"DATAVENUE_OIDC_ISSUER", "", "the console's OpenID Connect identity provider (its issuer URL; discovery at /.well-known/openid-configuration); empty: no OIDC sign-in. Its ID tokens carry the venue's role and org claims"},
	{"DATAVENUE_OIDC_CLIENT_ID", "", "the console's client id at the identity provider (the ID token's audience)"},
	{"DATAVENUE_OIDC_CLIENT_SECRET", "", "the console's client secret at the identity provider (empty: a public client, PKCE only)"},
	{"DATAVENUE_OIDC_REDIRECT_URL", "", "where the identity provider sends the browser back; empty: DATAVENUE_PUBLIC_URL + /console/signin/callback"},
	{"DATAVENUE_OIDC_ROLE_CLAIM", "role", "the ID token claim holding the venue role (a string or a list of strings; e.g. roles), or a dot-separated path into nested claims (e.g. realm_access.roles)"},
	{"DATAVENUE_OIDC_ORG_CLAIM", "org", "the ID token claim naming the organisation (e.g. dept_code, a unit code mapped by DATAVENUE_OIDC_ORG_MAP), or a dot-separated path into nested claims"},
	{"DATAVENUE_OIDC_ROLE_MAP", "", "the provider's role values as venue roles, provider=venue pairs separated by commas (e.g. data_bureau_staff=data_bureau,finance_staff=finance_bureau); set: only mapped values count"},
	{"DATAVENUE_OIDC_ORG_MAP", "", "the provider's organisation values (unit codes) as venue organisation ids, code=org_id pairs separated by commas; set: an unmapped code is refused"},
	{"DATAVENUE_OIDC_POST_LOGOUT_URL", "", "where the identity provider sends the browser after signing out (RP-initiated logout); empty: DATAVENUE_PUBLIC_URL + /console/signin"},
	{"DATAVENUE_TOKEN_MAX_LIFETIME", "24h", "the longest lifetime (exp after iat) a bearer token may have; longer ones are refused (a Go duration)"},
	{"DATAVENUE_IDEMPOTENCY_RETENTION", "336h", "how long an Idempotency-Key and its stored answer are kept (a Go duration, at least 1h; 336h is two weeks); a retry later than that runs as a new request"},
	{"DATAVENUE_BODY_LIMIT", "1048576", "largest accepted request body in bytes (larger gets 413)"},
	{"DATAVENUE_RATE_PER_SECOND", "50", "authenticated requests per second allowed per organisation on average (0: no limit)"},
	{"DATAVENUE_RATE_BURST", "100", "authenticated requests an organisation may send at once"},
	{"DATAVENUE_CONFIRM_AFTER_DAYS", "7", "days a buyer has to confirm a delivery before the venue confirms it (the voucher says so)"},
	{"DATAVENUE_PAYMENT_CALLBACK_SECRET", "", "shared secret of the payment provider's callback (HMAC-SHA256 of the body); empty: callbacks refused"},
	{"DATAVENUE_METERING_SECRET", "", "the venue's metering secret: each operator's secret for signing usage batches is derived from it (datavenue metering-secret); empty: usage batches refused"},
	{"DATAVENUE_IMPORT_LIMIT", "67108864", "largest treasury statement a clerk may import, in bytes"},
	{"DATAVENUE_CALENDAR_FILE", "", "CSV of official holidays and adjusted working days for years the built-in schedules lack (date,kind,name; a YYYY,year line declares a year complete); checked at start-up: see `datavenue calendar check`"},
	{"DATAVENUE_PROJECTION_LAG_LIMIT", "30s", "age of the oldest engine event not yet in PostgreSQL past which /readyz says degraded (a Go duration)"},
	{"DATAVENUE_WEBHOOK_ALLOW_HTTP", "false", "accept http:// webhook subscription URLs (a closed network, tests); otherwise https only: deliveries carry trade data"},
	{"DATAVENUE_WEBHOOK_ALLOW_PRIVATE", "false", "deliver webhooks to loopback, private and link-local addresses (a closed network, tests); otherwise refused where they are dialled"},
	{"DATAVENUE_LOG_LEVEL", "info", "debug, info, warn or error (logs are JSON lines on stderr)"},
}

// Config is the parsed settings.
// Durations and sizes are already checked and converted (bytes, time.Duration), so code that
// receives a Config never re-validates: a bad value stops the process at start-up, not mid-trade.
// The first group are plain strings whose form the driver or the key loader checks when it dials.
type Config struct {
	DatabaseURL    string
	RedisURL       string
	Listen         string
	KeyDir         string
	JWTIssuer      string
	JWTAudience    string
	DevIssuer      bool
	TrustedIssuers string
	BodyLimit      int
	RatePerSecond  int
	RateBurst      int
	LogLevel       slog.Level
	// ConfirmAfter is how long a buyer has to confirm a delivery.
	ConfirmAfter          time.Duration
	PaymentCallbackSecret string
	MeteringSecret        string
	ImportLimit           int
	// ProjectionLagLimit is how far behind the projection may fall before /readyz says degraded.
	ProjectionLagLimit time.Duration
	// PublicURL is the venue's public base URL, without a trailing slash.
	PublicURL string
	// OIDC is the console's identity provider (Issuer "": no OIDC sign-in).
	OIDC OIDC
	// TokenMaxLifetime is the longest lifetime a bearer token may have.
	TokenMaxLifetime time.Duration
	// IdempotencyRetention is how long idempotency keys are kept before they are purged.
	IdempotencyRetention time.Duration
	// CataloguePublisher is the venue's name as its catalogue's publisher.
	CataloguePublisher string
	// CORSOrigins are the browser origins allowed to call the API.
	CORSOrigins []string
	// CalendarFile is the calendar override file ("": the built-in schedules only).
	CalendarFile string
	// DatabaseReadURL is the hot standby the anonymous catalogue reads from ("": the primary).
	DatabaseReadURL string
	// ReadMaxLag is the staleness past which catalogue reads leave the standby for the primary.
	ReadMaxLag time.Duration
	// MetricsListen is where the metrics are served apart from the API ("": on the API, with a token).
	MetricsListen string
	// RedisCluster is the Redis Cluster's seed nodes (host:port,…) or cluster URL; "" for the
	// single Redis at RedisURL.
	RedisCluster string
	// WebhookAllowHTTP accepts http:// webhook URLs; WebhookAllowPrivate delivers to private
	// addresses. Both off in production.
	WebhookAllowHTTP, WebhookAllowPrivate bool
}

// Load reads the settings through lookup (os.LookupEnv in production, a map in tests).
// Load returns the first bad setting as an error naming the variable and the expected form, and
// the partial Config with it (callers must not use it). An empty value counts as unset, so
// `DATAVENUE_X= datavenue serve` gets the default rather than an empty string nobody expects.
func Load(lookup func(string) (string, bool)) (Config, error) {
	// get panics on a name not in Vars: that is a programming error (a setting read without being
	// documented), and only a test can hit it.
	get := func(name string) string {
		if v, ok := lookup(name); ok && v != "" {
			return v
		}
		for _, v := range Vars {
			if v.Name == name {
				return v.Default
			}
		}
		panic("config: unknown variable " + name)
	}
	cfg := Config{
		DatabaseURL:    get("DATAVENUE_DATABASE_URL"),
		RedisURL:       get("DATAVENUE_REDIS_URL"),
		Listen:         get("DATAVENUE_LISTEN"),
		KeyDir:         get("DATAVENUE_KEY_DIR"),
		JWTIssuer:      get("DATAVENUE_JWT_ISSUER"),
		JWTAudience:    get("DATAVENUE_JWT_AUDIENCE"),
		TrustedIssuers: get("DATAVENUE_TRUSTED_ISSUERS"),
	}
	cfg.RedisCluster = strings.TrimSpace(get("DATAVENUE_REDIS_CLUSTER"))
	if err := checkClusterSeeds(cfg.RedisCluster); err != nil {
		return cfg, err
	}
	// Booleans and numbers are parsed strictly and bounded: a typo ("ture", "10O") would otherwise
	// silently fall back to a default that may be the unsafe one (e.g. the development issuer).
	var err error
	if cfg.DevIssuer, err = strconv.ParseBool(get("DATAVENUE_DEV_ISSUER")); err != nil {
		return cfg, fmt.Errorf("DATAVENUE_DEV_ISSUER: want true or false")
	}
	if cfg.WebhookAllowHTTP, err = strconv.ParseBool(get("DATAVENUE_WEBHOOK_ALLOW_HTTP")); err != nil {
		return cfg, fmt.Errorf("DATAVENUE_WEBHOOK_ALLOW_HTTP: want true or false")
	}
	if cfg.WebhookAllowPrivate, err = strconv.ParseBool(get("DATAVENUE_WEBHOOK_ALLOW_PRIVATE")); err != nil {
		return cfg, fmt.Errorf("DATAVENUE_WEBHOOK_ALLOW_PRIVATE: want true or false")
	}
	if cfg.BodyLimit, err = strconv.Atoi(get("DATAVENUE_BODY_LIMIT")); err != nil || cfg.BodyLimit < 1024 {
		return cfg, fmt.Errorf("DATAVENUE_BODY_LIMIT: want a number of bytes, at least 1024")
	}
	if cfg.RatePerSecond, err = strconv.Atoi(get("DATAVENUE_RATE_PER_SECOND")); err != nil || cfg.RatePerSecond < 0 {
		return cfg, fmt.Errorf("DATAVENUE_RATE_PER_SECOND: want a number, 0 or more")
	}
	if cfg.RateBurst, err = strconv.Atoi(get("DATAVENUE_RATE_BURST")); err != nil || cfg.RateBurst < 1 {
		return cfg, fmt.Errorf("DATAVENUE_RATE_BURST: want a number, 1 or more")
	}
	// The delivery confirmation window is whole days, as the voucher states it; 90 days caps how long
	// a delivery may wait for the buyer before the venue confirms it on the buyer's behalf.
	days, err := strconv.Atoi(get("DATAVENUE_CONFIRM_AFTER_DAYS"))
	if err != nil || days < 1 || days > 90 {
		return cfg, fmt.Errorf("DATAVENUE_CONFIRM_AFTER_DAYS: want a number of days, 1 to 90")
	}
	cfg.ConfirmAfter = time.Duration(days) * 24 * time.Hour
	cfg.PaymentCallbackSecret = get("DATAVENUE_PAYMENT_CALLBACK_SECRET")
	cfg.MeteringSecret = get("DATAVENUE_METERING_SECRET")
	if cfg.ImportLimit, err = strconv.Atoi(get("DATAVENUE_IMPORT_LIMIT")); err != nil || cfg.ImportLimit < 1024 {
		return cfg, fmt.Errorf("DATAVENUE_IMPORT_LIMIT: want a number of bytes, at least 1024")
	}
	cfg.MetricsListen = get("DATAVENUE_METRICS_LISTEN")
	cfg.CalendarFile = get("DATAVENUE_CALENDAR_FILE")
	cfg.CataloguePublisher = get("DATAVENUE_CATALOGUE_PUBLISHER")
	// CORS origins must be exact scheme://host[:port] values: a wildcard or a path would either let
	// any site call the API with a user's token or never match the browser's Origin header.
	for _, o := range strings.Split(get("DATAVENUE_CORS_ORIGINS"), ",") {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o == "" {
			continue
		}
		if u, err := url.Parse(o); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || o == "*" {
			return cfg, fmt.Errorf("DATAVENUE_CORS_ORIGINS: %q is not an origin such as https://console.example.cn (no wildcard)", o)
		}
		cfg.CORSOrigins = append(cfg.CORSOrigins, o)
	}
	if cfg.TokenMaxLifetime, err = time.ParseDuration(get("DATAVENUE_TOKEN_MAX_LIFETIME")); err != nil || cfg.TokenMaxLifetime < time.Minute {
		return cfg, fmt.Errorf("DATAVENUE_TOKEN_MAX_LIFETIME: want a duration of at least 1m, such as 24h")
	}
	// An hour at least: a key must outlive the lease of a request in flight (30 s) and a client's
	// retries after a brief outage by a wide margin.
	if cfg.IdempotencyRetention, err = time.ParseDuration(get("DATAVENUE_IDEMPOTENCY_RETENTION")); err != nil || cfg.IdempotencyRetention < time.Hour {
		return cfg, fmt.Errorf("DATAVENUE_IDEMPOTENCY_RETENTION: want a duration of at least 1h, such as 336h (two weeks)")
	}
	// The public URL ends up inside published identifiers (DCAT); it comes only from configuration,
	// never from a request's Host header, which a client controls.
	cfg.PublicURL = strings.TrimRight(get("DATAVENUE_PUBLIC_URL"), "/")
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + cfg.Listen
	}
	if u, err := url.Parse(cfg.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return cfg, fmt.Errorf("DATAVENUE_PUBLIC_URL: want an absolute http or https URL such as https://data-exchange.example.cn")
	}
	cfg.OIDC = OIDC{Issuer: strings.TrimRight(get("DATAVENUE_OIDC_ISSUER"), "/"), ClientID: get("DATAVENUE_OIDC_CLIENT_ID"),
		ClientSecret: get("DATAVENUE_OIDC_CLIENT_SECRET"), RedirectURL: get("DATAVENUE_OIDC_REDIRECT_URL"),
		RoleClaim: get("DATAVENUE_OIDC_ROLE_CLAIM"), OrgClaim: get("DATAVENUE_OIDC_ORG_CLAIM"), PostLogoutURL: get("DATAVENUE_OIDC_POST_LOGOUT_URL")}
	if cfg.OIDC.RedirectURL == "" {
		cfg.OIDC.RedirectURL = cfg.PublicURL + "/console/signin/callback"
	}
	if cfg.OIDC.PostLogoutURL == "" {
		cfg.OIDC.PostLogoutURL = cfg.PublicURL + "/console/signin"
	}
	if err := cfg.OIDC.parseMaps(get("DATAVENUE_OIDC_ROLE_MAP"), get("DATAVENUE_OIDC_ORG_MAP")); err != nil {
		return cfg, err
	}
	if cfg.OIDC.Issuer != "" {
		if u, err := url.Parse(cfg.OIDC.Issuer); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return cfg, fmt.Errorf("DATAVENUE_OIDC_ISSUER: want the identity provider's issuer URL, such as https://id.example.gov.cn")
		}
		if cfg.OIDC.ClientID == "" {
			return cfg, fmt.Errorf("DATAVENUE_OIDC_CLIENT_ID: the console needs its client id when DATAVENUE_OIDC_ISSUER is set")
		}
	}
	cfg.DatabaseReadURL = get("DATAVENUE_DATABASE_READ_URL")
	// The replica lag bound has a floor of 100 ms, the router's shortest check interval
	// (postgres.ReadRouter checks every fifth of the bound, 100 ms to 1 s): a smaller bound could not
	// be measured. See postgres/replica.go for how the lag is measured.
	if cfg.ReadMaxLag, err = time.ParseDuration(get("DATAVENUE_READ_MAX_LAG")); err != nil || cfg.ReadMaxLag < 100*time.Millisecond {
		return cfg, fmt.Errorf("DATAVENUE_READ_MAX_LAG: want a duration of at least 100ms, such as 5s")
	}
	if cfg.ProjectionLagLimit, err = time.ParseDuration(get("DATAVENUE_PROJECTION_LAG_LIMIT")); err != nil || cfg.ProjectionLagLimit < time.Second {
		return cfg, fmt.Errorf("DATAVENUE_PROJECTION_LAG_LIMIT: want a duration of at least 1s, such as 30s or 2m")
	}
	if err := cfg.LogLevel.UnmarshalText([]byte(get("DATAVENUE_LOG_LEVEL"))); err != nil {
		return cfg, fmt.Errorf("DATAVENUE_LOG_LEVEL: %w", err)
	}
	return cfg, nil
}

// checkClusterSeeds checks the form of DATAVENUE_REDIS_CLUSTER: a list of host:port seeds (a
// cluster URL is checked where it is parsed, by go-redis).
// A value containing "://" is a go-redis cluster URL and is left to redis.ParseClusterURL, which
// understands its user, password, TLS and addr= parameters; only the bare list is checked here so
// that a typo fails at start-up with the variable's name instead of as a dial error later.
func checkClusterSeeds(v string) error {
	if v == "" || strings.Contains(v, "://") {
		return nil
	}
	for _, seed := range strings.Split(v, ",") {
		host, port, err := net.SplitHostPort(strings.TrimSpace(seed))
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return fmt.Errorf("DATAVENUE_REDIS_CLUSTER: %q is not a host:port seed (want host:port,host:port or a redis:// cluster URL)", seed)
		}
	}
	return nil
}

// Help describes every variable, for --help.
// The text is generated from Vars so that it always lists exactly the variables Load reads.
func Help() string {
	var b strings.Builder
	b.WriteString("Environment variables (default in brackets):\n")
	for _, v := range Vars {
		def := v.Default
		if def == "" {
			def = "empty"
		}
		fmt.Fprintf(&b, "  %s\n      %s [%s]\n", v.Name, v.Help, def)
	}
	return b.String()
}

// OIDC is the console's OpenID Connect client registration at an identity provider, and how its
// claims are read (see oidc.go).
type OIDC struct {
	Issuer, ClientID, ClientSecret, RedirectURL string
	// PostLogoutURL is where the provider sends the browser back after an RP-initiated logout.
	PostLogoutURL string
	// RoleClaim and OrgClaim name the ID token's claims that carry the role and the organisation.
	RoleClaim, OrgClaim string
	// RoleMap and OrgMap translate the provider's values into the venue's (nil: taken as they are).
	RoleMap map[string]string
	OrgMap  map[string]string
}
