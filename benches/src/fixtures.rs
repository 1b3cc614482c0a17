//! Deterministic, realistic content and path fixtures shared by the criterion suites.
//!
//! Every generator is a pure function of its arguments (a fixed-seed xorshift drives the
//! choices), so two runs and two machines benchmark the same bytes.

/// Source repository the text fixtures mention (`owner/name`).
pub const SOURCE_REPO: &str = "acme/api";
/// Target repository for repository-name benchmarks; its name extends the source's name,
/// the case that made go-broadcast's rewriting compound.
pub const TARGET_REPO: &str = "acme/api-gateway";
/// Security contact the text fixtures mention.
pub const SOURCE_EMAIL: &str = "security@acme.example";
/// Replacement security contact.
pub const TARGET_EMAIL: &str = "security@gateway.example";
/// Template variables the text fixtures use, as `(name, value)`.
pub const VARIABLES: &[(&str, &str)] = &[
    ("SERVICE_NAME", "gateway"),
    ("GO_VERSION", "1.24"),
    ("OWNER_TEAM", "platform"),
    ("DOCKER_IMAGE", "ghcr.io/acme/api-gateway"),
];

/// Content sizes benchmarked: `(label with unit, bytes)`.
pub const SIZES: &[(&str, usize)] = &[("1KiB", 1 << 10), ("100KiB", 100 << 10), ("1MiB", 1 << 20)];

/// Small deterministic PRNG (xorshift64*), enough to vary fixture content.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator with a fixed, non-zero seed derived from `seed`.
    pub fn new(seed: u64) -> Self {
        Self((seed ^ 0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// Next pseudo-random value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A pseudo-random index below `len` (`len > 0`).
    pub fn below(&mut self, len: usize) -> usize {
        (self.next_u64() % len as u64) as usize
    }

    /// A pseudo-random element of `items` (non-empty).
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

/// Appends blocks from `blocks` (chosen pseudo-randomly) until `bytes` is reached, then cuts
/// at exactly `bytes`, at a line end when one is near.
fn fill(seed: u64, bytes: usize, blocks: &[&str]) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(bytes + 512);
    while out.len() < bytes {
        out.push_str(rng.pick(blocks));
    }
    let mut end = bytes;
    while !out.is_char_boundary(end) {
        end -= 1;
    }
    out.truncate(end);
    out.into_bytes()
}

const GO_BLOCKS: &[&str] = &[
    "package handler\n\nimport (\n\t\"context\"\n\t\"fmt\"\n\n\t\"github.com/acme/api/internal/store\"\n\t\"github.com/acme/api-client/v2\"\n)\n\n",
    "// Handler serves the {{SERVICE_NAME}} endpoints of acme/api.\ntype Handler struct {\n\tstore *store.Store\n\tname  string\n}\n\n",
    "func (h *Handler) Get(ctx context.Context, id string) (string, error) {\n\tv, err := h.store.Load(ctx, id)\n\tif err != nil {\n\t\treturn \"\", fmt.Errorf(\"load %s: %w\", id, err)\n\t}\n\treturn v, nil\n}\n\n",
    "// Report security issues to security@acme.example, not in public issues.\n",
    "const userAgent = \"api/1.0 (+https://github.com/acme/api)\"\n\n",
    "func sum(xs []int) (total int) {\n\tfor _, x := range xs {\n\t\ttotal += x\n\t}\n\treturn total\n}\n\n",
];

const MARKDOWN_BLOCKS: &[&str] = &[
    "# api\n\n[![CI](https://github.com/acme/api/actions/workflows/ci.yml/badge.svg)](https://github.com/acme/api/actions/workflows/ci.yml)\n[![Go Report Card](https://goreportcard.com/badge/github.com/acme/api)](https://goreportcard.com/report/github.com/acme/api)\n[![codecov](https://codecov.io/gh/acme/api/branch/main/graph/badge.svg)](https://codecov.io/gh/acme/api)\n\n",
    "The api service is owned by the {{OWNER_TEAM}} team and runs {{SERVICE_NAME}} in production.\nIt depends on acme/api-client and acme/api-proto, which are released separately.\n\n",
    "## Install\n\n```sh\ngit clone https://github.com/acme/api.git\ncd api\ngo install github.com/acme/api/cmd/api@latest\n```\n\n",
    "## Security\n\nPlease report vulnerabilities to [the security team](mailto:security@acme.example) or\nwrite to security@acme.example.au for the regional office. Never open a public issue.\n\n",
    "## Configuration\n\n| key | default | meaning |\n|---|---|---|\n| `listen` | `:8080` | address the server binds |\n| `image` | `${DOCKER_IMAGE}` | container image |\n| `go` | `{{GO_VERSION}}` | toolchain |\n\n",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut\nlabore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco.\n\n",
];

const YAML_BLOCKS: &[&str] = &[
    "name: ci\non:\n  push:\n    branches: [main]\n  pull_request:\n\n",
    "jobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-go@v5\n        with:\n          go-version: \"{{GO_VERSION}}\"\n      - run: go test ./...\n\n",
    "  release:\n    if: github.repository == 'acme/api'\n    steps:\n      - run: docker build -t ${DOCKER_IMAGE}:latest .\n      - run: docker push ghcr.io/acme/api:latest\n\n",
    "security:\n  contact: security@acme.example\n  policy: \"https://github.com/acme/api/security/policy\"\n  fallback: 'security@acme.example'\n\n",
    "labels:\n  - name: bug\n    color: d73a4a\n  - name: enhancement\n    color: a2eeef\n  - name: dependencies\n    color: 0366d6\n\n",
];

/// Go source of exactly `bytes` bytes: imports of the source module, doc comments with
/// placeholders and the security address, ordinary code.
pub fn go_source(bytes: usize) -> Vec<u8> {
    fill(1, bytes, GO_BLOCKS)
}

/// Markdown of exactly `bytes` bytes: badges and links with the source slug, prose with the
/// bare repository name, placeholders, `mailto:` links and look-alike addresses.
pub fn markdown(bytes: usize) -> Vec<u8> {
    fill(2, bytes, MARKDOWN_BLOCKS)
}

/// YAML (GitHub Actions workflows and settings) of exactly `bytes` bytes with slugs,
/// placeholders and quoted and unquoted addresses.
pub fn yaml(bytes: usize) -> Vec<u8> {
    fill(3, bytes, YAML_BLOCKS)
}

/// A template repository's text in one buffer of exactly `bytes` bytes: Go, markdown and
/// YAML blocks interleaved. Use it with a `.md` destination for the richest rule set.
pub fn template_text(bytes: usize) -> Vec<u8> {
    let all: Vec<&str> = GO_BLOCKS
        .iter()
        .chain(MARKDOWN_BLOCKS)
        .chain(YAML_BLOCKS)
        .copied()
        .collect();
    fill(4, bytes, &all)
}

/// Plain English-like prose of exactly `bytes` bytes that mentions no repository, address or
/// placeholder: the "nothing to rewrite" case, where a transform should cost one scan.
pub fn prose(bytes: usize) -> Vec<u8> {
    fill(6, bytes, PROSE_BLOCKS)
}

const PROSE_BLOCKS: &[&str] = &[
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut\nlabore et dolore magna aliqua. ",
    "Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea\ncommodo consequat. ",
    "Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla\npariatur. ",
    "Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit\nanim id est laborum.\n\n",
];

/// `count` distinct-ish repository-relative paths (`/`-separated, depth 1 to 6) shaped like a
/// template repository: workflows, hidden directories, `tmp/`, vendored code, images, Go and
/// markdown sources.
pub fn repo_paths(count: usize) -> Vec<String> {
    const DIRS: &[&str] = &[
        ".github",
        "workflows",
        "docs",
        "cmd",
        "internal",
        "pkg",
        "vendor",
        "tmp",
        "testdata",
        "scripts",
        "api",
        "handler",
        "store",
        "assets",
        "build",
    ];
    const FILES: &[&str] = &[
        "README.md",
        "main.go",
        "handler.go",
        "ci.yml",
        "release.yaml",
        "Makefile",
        "logo.png",
        "app.exe",
        "coverage.out",
        ".DS_Store",
        "modules.txt",
        "config.json",
        "notes.txt",
        ".gitignore",
        "image.jpg",
        "run.sh",
    ];
    let mut rng = Rng::new(5);
    (0..count)
        .map(|i| {
            let depth = rng.below(6);
            let mut path = String::new();
            for _ in 0..depth {
                path.push_str(rng.pick(DIRS));
                path.push('/');
            }
            if i % 7 == 0 {
                path.push_str(&format!("f{i}_"));
            }
            path.push_str(rng.pick(FILES));
            path
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_have_the_requested_size_and_are_deterministic() {
        for &(label, bytes) in SIZES {
            for make in [go_source, markdown, yaml, template_text, prose] {
                let a = make(bytes);
                assert_eq!(a.len(), bytes, "{label}");
                assert_eq!(a, make(bytes), "{label} is deterministic");
                assert!(std::str::from_utf8(&a).is_ok(), "{label} is UTF-8");
            }
        }
        let paths = repo_paths(1000);
        assert_eq!(paths.len(), 1000);
        assert_eq!(paths, repo_paths(1000));
    }

    #[test]
    fn text_fixtures_contain_what_the_transforms_look_for() {
        let text = String::from_utf8(template_text(100 << 10)).expect("UTF-8");
        for needle in [
            SOURCE_REPO,
            SOURCE_EMAIL,
            "{{SERVICE_NAME}}",
            "${DOCKER_IMAGE}",
            "github.com/acme/api",
        ] {
            assert!(text.contains(needle), "{needle}");
        }
    }
}
