//! Built-in redaction rules: the secret formats broadcast knows, their trigger literals and their
//! replacement markers.
//!
//! Every rule is a `regex::bytes::Regex` whose capture group named `secret` is the part replaced by
//! `***`; everything else in the match (key, prefix, separator) is kept so a reader can still tell
//! what was there. Rules run in the order of [`BUILTIN`]: specific token formats first, the generic
//! `key=value` rule last.

/// How a rule is written down before compilation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RuleSpec {
    /// Short stable name (shown in `Redactor::rule_names`).
    pub(crate) name: &'static str,
    /// Regex source; the group named `secret` is replaced.
    pub(crate) pattern: &'static str,
    /// Literals of which at least one occurs in every match (the prefilter keys).
    pub(crate) triggers: &'static [&'static str],
    /// Whether every match lies within one line (no `\n` inside): the rule then runs only over
    /// the lines where a trigger occurred.
    pub(crate) line_local: bool,
    /// Whether the rule is case-insensitive: its triggers are then searched as written (lower
    /// case), in upper case and capitalised.
    pub(crate) case_insensitive: bool,
}

/// The built-in rules, in application order.
pub(crate) const BUILTIN: &[RuleSpec] = &[
    RuleSpec {
        name: "pem_private_key",
        // A truncated block (no END line, e.g. a cut log line) is redacted to the end of the text.
        pattern: r"(?s)-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----(?P<secret>.*?)(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|\z)",
        triggers: &["-----BEGIN"],
        line_local: false,
        case_insensitive: false,
    },
    RuleSpec {
        // GitHub token formats: https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/
        name: "github_token",
        pattern: r"(?:gh[pousr]_|github_pat_)(?P<secret>[A-Za-z0-9_]{8,255})",
        triggers: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        line_local: true,
        case_insensitive: false,
    },
    RuleSpec {
        // RFC 9110 section 11.6.2 `Authorization: <scheme> <credentials>`, also as git's
        // `http.extraHeader` value; the scheme is optional so a bare credential is caught too.
        name: "authorization_header",
        pattern: r#"(?i)(?:proxy-)?authorization[ \t]*[:=][ \t]*(?:(?:bearer|token|basic|digest|negotiate)[ \t]+)?(?P<secret>[^\s"'\\,;]+)"#,
        triggers: &["authorization"],
        line_local: true,
        case_insensitive: true,
    },
    RuleSpec {
        name: "bearer_token",
        pattern: r"(?i)bearer[ \t]+(?P<secret>[A-Za-z0-9._~+/=-]{8,})",
        triggers: &["bearer"],
        line_local: true,
        case_insensitive: true,
    },
    RuleSpec {
        // RFC 3986 section 3.2.1 userinfo `user:password@`; the password is replaced.
        name: "url_credentials",
        pattern: r"[A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s/?#@:]*:(?P<secret>[^\s/?#@]+)@",
        triggers: &["://"],
        line_local: true,
        case_insensitive: false,
    },
    RuleSpec {
        // JSON Web Token (RFC 7519): base64url header `{"` = `eyJ`, payload, signature.
        name: "jwt",
        pattern: r"eyJ(?P<secret>[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*)",
        triggers: &["eyJ"],
        line_local: true,
        case_insensitive: false,
    },
    RuleSpec {
        // AWS access key ids: `AKIA` (long-term) or `ASIA` (temporary) + 16 upper-case characters
        // (AWS IAM user guide, "Unique identifiers"). Other id prefixes name users and roles and
        // are not credentials.
        name: "aws_access_key_id",
        pattern: r"(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)(?P<secret>[A-Z0-9]{16})",
        triggers: &[
            "AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA",
        ],
        line_local: true,
        case_insensitive: false,
    },
    RuleSpec {
        // Slack tokens: xoxb- (bot), xoxp- (user), xoxa-, xoxr-, xoxs-, xoxe-.
        name: "slack_token",
        pattern: r"xox[abeprs]-(?P<secret>[A-Za-z0-9-]{8,})",
        triggers: &["xox"],
        line_local: true,
        case_insensitive: false,
    },
    RuleSpec {
        // `key=value`, `key = "value"`, `"key": "value"`, `'key': 'value'` with a sensitive key.
        // The value is a quoted string (escapes allowed) or a run up to whitespace, quote, `&`, `,`
        // or `;` (URL query strings, logfmt, env files).
        name: "sensitive_key_value",
        pattern: r#"(?i)(?:[A-Za-z0-9_.-]*(?:token|password|passwd|passphrase|pwd|secret|api_key|apikey|api-key|private_key|private-key|access_key|secret_key|credentials?|auth_key))(?:[ \t]*=[ \t]*|["'][ \t]*:[ \t]*)(?:"(?P<secret_dq>(?:[^"\\\n]|\\.)+)"|'(?P<secret_sq>[^'\n]+)'|(?P<secret>[^\s"'&,;]+))"#,
        // Every key alternative contains one of these: password/passwd -> passw, passphrase ->
        // passp, the *key spellings -> key, credential(s) -> credential.
        triggers: &[
            "token",
            "passw",
            "passp",
            "pwd",
            "secret",
            "key",
            "credential",
        ],
        line_local: true,
        case_insensitive: true,
    },
];

/// Sensitive structured-field names (normalised: lower case, `-`/`.`/spaces removed, `_` kept
/// only as written). A field is sensitive when its normalised name ends with one of these.
pub(crate) const FIELD_SUFFIXES: &[&str] = &[
    "token",
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "secretkey",
    "apikey",
    "privatekey",
    "accesskey",
    "authorization",
    "auth",
    "credential",
    "credentials",
    "cookie",
    "jwt",
    "bearer",
    "connectionstring",
    "databaseurl",
    "dsn",
    "pem",
];
