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

/// Log lines like broadcast prints (timestamp, level, target, counts, commit ids, branch),
/// `bytes` bytes long (the last line cut), with no secret and no literal the redaction rules
/// trigger on: the "nothing to redact" input.
pub fn log_text(bytes: usize) -> String {
    let mut s = String::with_capacity(bytes + 256);
    let mut i = 0u64;
    while s.len() < bytes {
        s.push_str(&format!(
            "2026-01-02T03:04:05.{:06}Z INFO sync: target owner/repo-{i} synced files=12 \
             duration_ms=340 commit=0123456789abcdef0123456789abcdef{:08x} branch=chore/sync-files\n",
            i % 1_000_000,
            i
        ));
        i += 1;
    }
    s.truncate(bytes);
    s
}

/// `count` `(path, content)` pairs for the binary-file check, deterministic: paths with a
/// text extension (`.md`, `.go`, `.yml` ...), a binary one (`.png`, `.exe` ...) and none or
/// an unknown one (`Makefile`, `LICENSE`, `data.bin.part`), so every rule is taken; contents
/// of 256 B to 12 KiB that are UTF-8 text, text with a NUL byte, Latin-1 text (not UTF-8,
/// few control bytes) or a PNG-like header followed by control bytes.
pub fn binary_check_pairs(count: usize) -> Vec<(String, Vec<u8>)> {
    const NAMES: &[&str] = &[
        "README.md",
        "main.go",
        "ci.yml",
        "logo.png",
        "app.exe",
        "archive.tar.gz",
        "Makefile",
        "LICENSE",
        "data.bin.part",
        "notes",
        "Dockerfile",
        "font.woff2",
    ];
    const DIRS: &[&str] = &["", "docs/", ".github/workflows/", "assets/img/", "cmd/api/"];
    const SIZES: &[usize] = &[256, 1024, 4096, 8000, 12 << 10];
    let text = template_text(12 << 10);
    let mut rng = Rng::new(7);
    (0..count)
        .map(|i| {
            let path = format!("{}{}", rng.pick(DIRS), rng.pick(NAMES));
            let len = SIZES[rng.below(SIZES.len())];
            let mut content = text[..len].to_vec();
            match i % 4 {
                0 => {}
                1 => {
                    let at = rng.below(len);
                    content[at] = 0;
                }
                2 => {
                    for b in content.iter_mut().step_by(97) {
                        *b = 0xe9;
                    }
                }
                _ => {
                    content[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
                    for b in content.iter_mut().skip(8).step_by(2) {
                        *b &= 0x1f;
                    }
                }
            }
            (path, content)
        })
        .collect()
}

/// Target counts the configuration benchmarks use: `(label with unit, targets)`.
pub const CONFIG_TARGETS: &[(&str, usize)] = &[
    ("1targets", 1),
    ("10targets", 10),
    ("100targets", 100),
    ("1000targets", 1000),
];

/// Targets per group in [`config_yaml`]: larger configurations get more groups, as
/// organisations split their repositories by team.
pub const TARGETS_PER_GROUP: usize = 25;

/// A go-broadcast v1 configuration with `targets` GitHub targets (`acme/svc-0000` ...), as
/// YAML text. Deterministic and valid (it loads without issues; no file system access is
/// needed because every repository is an `owner/name` slug).
///
/// Shape: two `file_lists` (5 and 3 files) and one `directory_lists` entry; groups of
/// [`TARGETS_PER_GROUP`] targets, each with a description, priority, `depends_on` the
/// previous group, a source with branch and contact addresses, `global` and `defaults` pull
/// request metadata. Every target has three inline files (one a deletion), one directory
/// with `exclude`, `include_only` and a transform, a `file_list_refs` entry, a transform with
/// `repo_name` and two variables; every second target a `directory_list_refs` entry and a
/// security address; every third its own labels, assignees and reviewers. About 900 bytes
/// of YAML per target.
pub fn config_yaml(targets: usize) -> String {
    let targets = targets.max(1);
    let groups = targets.div_ceil(TARGETS_PER_GROUP);
    let mut y = String::with_capacity(1024 + targets * 1024);
    y.push_str(
        "version: 1\n\
         name: \"Platform templates\"\n\
         id: platform-templates\n\
         file_lists:\n\
         \x20 - id: ci-files\n\
         \x20   name: \"CI files\"\n\
         \x20   description: \"workflows and linters every service runs\"\n\
         \x20   files:\n\
         \x20     - { src: .github/workflows/ci.yml, dest: .github/workflows/ci.yml }\n\
         \x20     - { src: .github/workflows/release.yml, dest: .github/workflows/release.yml }\n\
         \x20     - { src: .golangci.json, dest: .golangci.json }\n\
         \x20     - { src: .editorconfig, dest: .editorconfig }\n\
         \x20     - { src: .github/dependabot.yml, dest: .github/dependabot.yml }\n\
         \x20 - id: community-files\n\
         \x20   name: \"Community files\"\n\
         \x20   files:\n\
         \x20     - { src: templates/CONTRIBUTING.md, dest: CONTRIBUTING.md }\n\
         \x20     - { src: templates/SECURITY.md, dest: SECURITY.md }\n\
         \x20     - { src: templates/CODE_OF_CONDUCT.md, dest: CODE_OF_CONDUCT.md }\n\
         directory_lists:\n\
         \x20 - id: docs\n\
         \x20   name: \"Shared docs\"\n\
         \x20   directories:\n\
         \x20     - src: docs/shared\n\
         \x20       dest: docs/shared\n\
         \x20       exclude: [\"*.tmp\", \"**/drafts/*\"]\n\
         \x20       transform: { repo_name: true }\n\
         groups:\n",
    );
    for g in 0..groups {
        y.push_str(&format!(
            "  - name: \"Services {g}\"\n\
             \x20   id: services-{g}\n\
             \x20   description: \"template files for the services of team {g}\"\n\
             \x20   priority: {}\n",
            g % 3
        ));
        if g > 0 {
            y.push_str(&format!("    depends_on: [services-{}]\n", g - 1));
        }
        y.push_str(
            "    enabled: true\n\
             \x20   source:\n\
             \x20     repo: acme/template\n\
             \x20     branch: main\n\
             \x20     security_email: security@acme.example\n\
             \x20     support_email: support@acme.example\n\
             \x20   global:\n\
             \x20     pr_labels: [automated-sync, templates]\n\
             \x20     pr_assignees: [platform-bot]\n\
             \x20     pr_reviewers: [platform-lead]\n\
             \x20     pr_team_reviewers: [platform]\n\
             \x20   defaults:\n\
             \x20     branch_prefix: chore/sync-files\n\
             \x20     pr_labels: [automated-sync]\n\
             \x20   targets:\n",
        );
        let first = g * TARGETS_PER_GROUP;
        for t in first..(first + TARGETS_PER_GROUP).min(targets) {
            y.push_str(&format!(
                "      - repo: acme/svc-{t:04}\n\
                 \x20       branch: main\n\
                 \x20       files:\n\
                 \x20         - src: Makefile\n\
                 \x20           dest: Makefile\n\
                 \x20         - src: templates/README.md\n\
                 \x20           dest: README.md\n\
                 \x20         - dest: OLD_CHANGELOG.md\n\
                 \x20           delete: true\n\
                 \x20       directories:\n\
                 \x20         - src: .github/workflows/shared\n\
                 \x20           dest: .github/workflows\n\
                 \x20           exclude: [\"*.out\", \"**/.DS_Store\", \"**/tmp/*\"]\n\
                 \x20           include_only: [\"*.yml\", \"*.yaml\"]\n\
                 \x20           preserve_structure: true\n\
                 \x20           include_hidden: true\n\
                 \x20           transform:\n\
                 \x20             repo_name: true\n\
                 \x20             variables: {{ SERVICE_NAME: svc-{t:04} }}\n\
                 \x20       file_list_refs: [ci-files{}]\n",
                if t % 4 == 0 { ", community-files" } else { "" }
            ));
            if t % 2 == 0 {
                y.push_str(&format!(
                    "        directory_list_refs: [docs]\n\
                     \x20       security_email: security@svc-{t:04}.example\n"
                ));
            }
            y.push_str(&format!(
                "        transform:\n\
                 \x20         repo_name: true\n\
                 \x20         variables:\n\
                 \x20           SERVICE_NAME: \"svc-{t:04}\"\n\
                 \x20           OWNER_TEAM: \"team-{g}\"\n"
            ));
            if t % 3 == 0 {
                y.push_str(&format!(
                    "        pr_labels: [svc-{t:04}, tier-{}]\n\
                     \x20       pr_assignees: [owner-{t:04}]\n\
                     \x20       pr_reviewers: [lead-{g}]\n\
                     \x20       pr_team_reviewers: [team-{g}]\n",
                    t % 3
                ));
            }
        }
    }
    y
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
        for &(label, targets) in CONFIG_TARGETS {
            let yaml = config_yaml(targets);
            assert_eq!(yaml, config_yaml(targets), "{label} is deterministic");
            assert_eq!(
                yaml.matches("- repo: acme/svc-").count(),
                targets,
                "{label}"
            );
        }
        let paths = repo_paths(1000);
        assert_eq!(paths.len(), 1000);
        assert_eq!(paths, repo_paths(1000));
    }

    #[test]
    fn config_fixtures_load_without_issues() {
        for &(label, targets) in CONFIG_TARGETS {
            let yaml = config_yaml(targets);
            let config = broadcast::config::parse_str(&yaml, std::path::Path::new("/srv"))
                .unwrap_or_else(|e| panic!("{label}: {e:?}"));
            let planned: usize = config.groups.iter().map(|g| g.targets.len()).sum();
            assert_eq!(planned, targets, "{label}");
            assert_eq!(
                config.groups.len(),
                targets.div_ceil(TARGETS_PER_GROUP),
                "{label}"
            );
            // List references were merged: 3 inline files (one deletion) + 5 or 8 from lists.
            let files = config.groups[0].targets[0].files.len();
            assert_eq!(
                files,
                3 + 5 + 3,
                "{label}: target 0 references both file lists"
            );
        }
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
