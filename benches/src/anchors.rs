//! Inputs of go-broadcast's published micro-benchmarks, rebuilt here so the `anchors` suite
//! measures the same shapes and sizes: configs, file contents, branch names, pull request
//! bodies, regex inputs.
//!
//! Every generator follows one benchmark file of go-broadcast at commit 342f6440
//! (`internal/config/benchmark_test.go`, `internal/transform/benchmark_test.go`,
//! `internal/transform/optimized_test.go`, `internal/state/benchmark_test.go`,
//! `internal/sync/benchmark_test.go`); the doc of each item names the benchmark and says
//! where our input differs (only where our config format or API needs it).

/// Source repository of every transform anchor (`SourceRepo` in go-broadcast's contexts).
pub const SOURCE_REPO: &str = "org/template-repo";
/// Target repository of every transform anchor (`TargetRepo`).
pub const TARGET_REPO: &str = "myorg/my-service";

/// The nine template variables of `BenchmarkTemplateTransform_Small` and `_Large`.
pub const TEMPLATE_VARIABLES: &[(&str, &str)] = &[
    ("SERVICE_NAME", "my-service"),
    ("ENVIRONMENT", "production"),
    ("SERVICE_PORT", "8080"),
    ("DB_HOST", "localhost"),
    ("DB_PORT", "5432"),
    ("CACHE_HOST", "redis"),
    ("CACHE_PORT", "6379"),
    ("API_KEY", "secret-key"),
    ("PLATFORM_NAME", "MyPlatform"),
];

/// The two variables of `BenchmarkChainTransform`.
pub const CHAIN_VARIABLES: &[(&str, &str)] = &[
    ("SERVICE_NAME", "my-service"),
    ("ENVIRONMENT", "production"),
];

/// The group header both configs share. go-broadcast 342f6440 read a flat file (`source`,
/// `defaults`, `targets` at the top level); the v1 format we load puts the same keys in one
/// group, which adds these three lines (`groups:`, `name`, `id`) and two spaces of indent.
fn config_head(labels: &str) -> String {
    format!(
        "version: 1\n\
         groups:\n\
         \x20 - name: \"Template sync\"\n\
         \x20   id: \"template\"\n\
         \x20   source:\n\
         \x20     repo: \"org/template-repo\"\n\
         \x20     branch: \"master\"\n\
         \x20   defaults:\n\
         \x20     branch_prefix: \"sync/template\"\n\
         \x20     pr_labels: [{labels}]\n\
         \x20   targets:"
    )
}

/// `sampleYAML` of `BenchmarkLoadFromReader` / `Validate` / `LoadAndValidate`: two targets,
/// two files each, a transform with `repo_name` and two variables.
pub fn config_small() -> String {
    let mut y = config_head("\"automated-sync\", \"template-update\"");
    for (i, second, env) in [
        (1, "Makefile", "production"),
        (2, "docker-compose.yml", "staging"),
    ] {
        y.push_str(&format!(
            "\n    - repo: \"org/target-repo-{i}\"\
             \n      files:\
             \n        - src: \".github/workflows/ci.yml\"\
             \n          dest: \".github/workflows/ci.yml\"\
             \n        - src: \"{second}\"\
             \n          dest: \"{second}\"\
             \n      transform:\
             \n        repo_name: true\
             \n        variables:\
             \n          SERVICE_NAME: \"target-service-{i}\"\
             \n          ENVIRONMENT: \"{env}\""
        ));
    }
    y
}

/// `largeYAML` of the `_Large` config benchmarks: 100 targets (`org/target-repo-0` ...), each
/// with three files (`.github/workflows/ci.yml`, `Makefile`, `README.md`) and a transform with
/// `repo_name` and two variables (`SERVICE_NAME: service-N`, `ENVIRONMENT: production`).
pub fn config_large() -> String {
    config_targets(100)
}

/// [`config_large`] with `targets` targets (go-broadcast's `GenerateYAMLConfig` shape).
pub fn config_targets(targets: usize) -> String {
    let mut y = config_head("\"automated-sync\"");
    for i in 0..targets {
        y.push_str(&format!(
            "\n    - repo: \"org/target-repo-{i}\"\
             \n      files:\
             \n        - src: \".github/workflows/ci.yml\"\
             \n          dest: \".github/workflows/ci.yml\"\
             \n        - src: \"Makefile\"\
             \n          dest: \"Makefile\"\
             \n        - src: \"README.md\"\
             \n          dest: \"README.md\"\
             \n      transform:\
             \n        repo_name: true\
             \n        variables:\
             \n          SERVICE_NAME: \"service-{i}\"\
             \n          ENVIRONMENT: \"production\""
        ));
    }
    y
}

/// `smallGoFile` (`BenchmarkRepoTransform_GoFile`): a `main` package importing two packages of
/// the template repository and printing its URL (about 200 bytes).
pub const SMALL_GO_FILE: &str = "package main

import (
\t\"fmt\"
\t\"github.com/org/template-repo/pkg/utils\"
\t\"github.com/org/template-repo/internal/config\"
)

func main() {
\tfmt.Println(\"Hello from github.com/org/template-repo\")
}";

/// One repetition of `largeGoFile`.
const LARGE_GO_UNIT: &str = "package service

import (
\t\"context\"
\t\"fmt\"
\t\"github.com/org/template-repo/pkg/utils\"
\t\"github.com/org/template-repo/internal/config\"
\t\"github.com/org/template-repo/internal/handler\"
)

// Service implements the main service logic
type Service struct {
\tconfig *config.Config
}

// NewService creates a new service instance
func NewService() *Service {
\treturn &Service{}
}

// Run starts the service
func (s *Service) Run(ctx context.Context) error {
\tfmt.Println(\"Running service from github.com/org/template-repo\")
\treturn nil
}
";

/// `largeGoFile` (`BenchmarkRepoTransform_GoFile_Large`): a service file repeated 50 times,
/// about 29 KB (go-broadcast's comment says ~14 KB; this is the same bytes).
pub fn large_go_file() -> Vec<u8> {
    LARGE_GO_UNIT.repeat(50).into_bytes()
}

/// `smallMarkdown` (`BenchmarkRepoTransform_Markdown`): a README with a badge, the slug and
/// two URLs of the template repository.
pub const SMALL_MARKDOWN: &str = "# Template Repository

[![Build Status](https://github.com/org/template-repo/workflows/CI/badge.svg)](https://github.com/org/template-repo/actions)

This is the template repository for org/template-repo.

## Installation

```bash
go get github.com/org/template-repo
```

Visit https://github.com/org/template-repo for more information.";

/// `templateContent` (`BenchmarkTemplateTransform_Small`): 12 placeholders of nine variables
/// in both `{{NAME}}` and `${NAME}` forms, about 300 bytes.
pub const TEMPLATE_CONTENT: &str = "# {{SERVICE_NAME}} Service

Environment: ${ENVIRONMENT}
Port: {{SERVICE_PORT}}

This service ({{SERVICE_NAME}}) runs in ${ENVIRONMENT} mode.

Configuration:
- Database: {{DB_HOST}}:{{DB_PORT}}
- Cache: ${CACHE_HOST}:${CACHE_PORT}
- API Key: {{API_KEY}}

{{SERVICE_NAME}} is part of the {{PLATFORM_NAME}} platform.";

/// `largeTemplate` (`BenchmarkTemplateTransform_Large`): [`TEMPLATE_CONTENT`] 100 times, about
/// 30 KB.
pub fn large_template() -> Vec<u8> {
    TEMPLATE_CONTENT.repeat(100).into_bytes()
}

/// The chain benchmark's content (`BenchmarkChainTransform`): a Go file with one template
/// import, two placeholders and the template repository's URL.
pub const CHAIN_CONTENT: &str = "package main

import (
\t\"fmt\"
\t\"github.com/org/template-repo/pkg/utils\"
)

func main() {
\tfmt.Println(\"{{SERVICE_NAME}} running in ${ENVIRONMENT}\")
\tfmt.Println(\"Visit https://github.com/org/template-repo\")
}";

/// `binaryContent`: the 8-byte PNG signature (`BenchmarkBinaryDetection/Binary`,
/// `BenchmarkChainTransform_Binary`).
pub const PNG_HEADER: &[u8] = &[0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

/// The three cases of `BenchmarkBinaryDetection`: (name, path, content).
pub fn binary_detection_cases() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    vec![
        ("Text", "test.txt", b"This is plain text content".to_vec()),
        ("Binary", "test.png", PNG_HEADER.to_vec()),
        ("LargeText", "large.txt", b"Hello World ".repeat(1000)),
    ]
}

/// The five branch names of `BenchmarkBranchParsing`.
pub const BRANCHES: &[&str] = &[
    "sync/template-20240115-142530-abc123",
    "sync/template-20240115-142530-def456",
    "feature/new-feature",
    "main",
    "sync/custom-prefix-20240115-142530-ghi789",
];

/// The two pull requests of `BenchmarkPRParsing` as the bodies our state lives in: the open
/// one carries a metadata block (rendered by us for `sync/template-...abc123`), the closed
/// one is go-broadcast's "Previous template sync..." text without a block.
pub fn pr_bodies() -> Vec<String> {
    let meta = broadcast::state::SyncMetadata {
        group_id: "template".into(),
        source_repo: SOURCE_REPO.into(),
        source_commit: "abc123def4567890abc123def4567890abc12345".into(),
        target_repo: "org/target-repo".into(),
        sync_commit: "def4567890abc123def4567890abc123def45678".into(),
    };
    vec![
        format!(
            "This PR syncs the latest template changes...\n\n{}",
            broadcast::state::render_metadata(&meta)
        ),
        "Previous template sync...".to_owned(),
    ]
}

/// The four patterns of `BenchmarkRegexCache`: (name, pattern, input).
pub const REGEX_CASES: &[(&str, &str, &str)] = &[
    (
        "GitHub_URL",
        r"github\.com/([^/]+/[^/]+)",
        "https://github.com/user/repo/blob/main/README.md",
    ),
    (
        "Template_Variable",
        r"\{\{([A-Z_][A-Z0-9_]*)\}\}",
        "Welcome to {{SERVICE_NAME}} running on {{ENVIRONMENT}}",
    ),
    (
        "GitHub_Token",
        r"ghp_[a-zA-Z0-9]{4,}",
        "Authorization: Bearer ghp_1234567890abcdefghijklmnopqrstu",
    ),
    (
        "Branch_Pattern",
        r"^(sync/template)-(\d{8})-(\d{6})-([a-fA-F0-9]+)$",
        "sync/template-20240101-120000-abc123def456",
    ),
];

/// `testData` of `BenchmarkBufferPool`, written 10, 100 or 1000 times per operation.
pub const BUFFER_POOL_DATA: &[u8] =
    b"Some test data to write multiple times for buffer pool testing";

/// The cases of `BenchmarkBufferPool`: (name, writes).
pub const BUFFER_POOL_CASES: &[(&str, usize)] = &[
    ("Small_10_Iterations", 10),
    ("Medium_100_Iterations", 100),
    ("Large_1000_Iterations", 1000),
];

/// `Path_Building` parts of `BenchmarkStringBuilding`.
pub const PATH_PARTS: &[&str] = &["github.com", "user", "repo", "blob", "main", "file.go"];
/// `GitHub_URL_Building`: repository and path parts.
pub const URL_REPO: &str = "user/repository";
/// `GitHub_URL_Building` path parts.
pub const URL_PARTS: &[&str] = &["blob", "main", "src", "internal", "service.go"];
/// `Commit_Message_Building` detail lines (action `sync`, subject `update files from template`).
pub const COMMIT_DETAILS: &[&str] = &[
    "Modified: README.md, .github/workflows/ci.yml",
    "Added: docs/api.md",
    "Removed: deprecated/old.txt",
];

/// [`COMMIT_DETAILS`] as the modified-file changes a commit message is built from.
pub fn commit_changes() -> Vec<broadcast::report::FileChange> {
    COMMIT_DETAILS
        .iter()
        .map(|d| broadcast::report::FileChange {
            path: (*d).to_owned(),
            kind: broadcast::report::ChangeKind::Modified,
            old_bytes: None,
            new_bytes: None,
            mode: None,
            diff: None,
            diff_note: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_load_with_their_target_counts() {
        for (text, n) in [(config_small(), 2), (config_large(), 100)] {
            let c = broadcast::config::parse_str(&text, std::path::Path::new("."))
                .unwrap_or_else(|e| panic!("anchor config does not load: {e:?}"));
            assert_eq!(c.groups[0].targets.len(), n);
        }
    }

    #[test]
    fn contents_have_their_sizes() {
        assert_eq!(
            TEMPLATE_CONTENT.matches("{{").count() + TEMPLATE_CONTENT.matches("${").count(),
            12
        );
        assert!((25_000..35_000).contains(&large_template().len()));
        assert!((25_000..35_000).contains(&large_go_file().len()));
        assert_eq!(binary_detection_cases()[2].2.len(), 12_000);
    }
}
