//! The go-broadcast v1 configuration schema, as serde types.
//!
//! Field names, nesting and defaults follow go-broadcast's group format (its reference, section 1).
//! Every struct rejects unknown keys, as go-broadcast's strict YAML decoding does.

use std::collections::BTreeMap;

use serde::Deserialize;

/// A whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Schema version; only `1` is accepted.
    pub version: i64,
    /// Informational name.
    #[serde(default)]
    pub name: Option<String>,
    /// Informational id.
    #[serde(default)]
    pub id: Option<String>,
    /// Sync groups (at least one).
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Reusable file mappings, referenced by `file_list_refs`.
    #[serde(default)]
    pub file_lists: Vec<FileList>,
    /// Reusable directory mappings, referenced by `directory_list_refs`.
    #[serde(default)]
    pub directory_lists: Vec<DirectoryList>,
    /// Repository settings presets: accepted for compatibility, not used by sync.
    #[serde(default)]
    pub settings_presets: Vec<serde_json::Value>,
    /// Pre-sync API budget gate for GitHub runs.
    #[serde(default)]
    pub rate_limit_preflight: Option<RateLimitPreflight>,
}

/// One group: a source repository synced into its targets.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Display name (required).
    #[serde(default)]
    pub name: String,
    /// Identifier (required, unique): names the sync branch and `depends_on` references.
    #[serde(default)]
    pub id: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Lower runs first among groups whose dependencies are satisfied.
    #[serde(default)]
    pub priority: i64,
    /// Group ids that must succeed before this one runs.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// `false` leaves the group out of runs (it is still validated). Default `true`.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// The template repository.
    pub source: Source,
    /// PR metadata merged into every target's.
    #[serde(default)]
    pub global: Global,
    /// Fallbacks: branch prefix, and PR metadata used when neither global nor target set any.
    #[serde(default)]
    pub defaults: Defaults,
    /// Target repositories.
    #[serde(default)]
    pub targets: Vec<Target>,
}

/// The source (template) repository of a group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// `owner/name` (GitHub) or a local path / `file://` URL.
    #[serde(default)]
    pub repo: String,
    /// Branch to read; default `main`.
    #[serde(default)]
    pub branch: Option<String>,
    /// go-broadcast's partial-clone size limit: accepted, unused (broadcast reads only mapped blobs).
    #[serde(default)]
    pub blob_size_limit: Option<String>,
    /// Security contact the email transform replaces in targets.
    #[serde(default)]
    pub security_email: Option<String>,
    /// Support contact the email transform replaces in targets.
    #[serde(default)]
    pub support_email: Option<String>,
}

/// PR metadata applied to every target of a group.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Global {
    /// Labels.
    #[serde(default)]
    pub pr_labels: Vec<String>,
    /// Assignee logins.
    #[serde(default)]
    pub pr_assignees: Vec<String>,
    /// Reviewer logins.
    #[serde(default)]
    pub pr_reviewers: Vec<String>,
    /// Team reviewer slugs.
    #[serde(default)]
    pub pr_team_reviewers: Vec<String>,
}

/// Group defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Sync branch prefix; default `chore/sync-files`.
    #[serde(default)]
    pub branch_prefix: Option<String>,
    /// Labels when neither global nor target has any; default `[automated-sync]`.
    #[serde(default)]
    pub pr_labels: Vec<String>,
    /// Assignees when neither global nor target has any.
    #[serde(default)]
    pub pr_assignees: Vec<String>,
    /// Reviewers when neither global nor target has any.
    #[serde(default)]
    pub pr_reviewers: Vec<String>,
    /// Team reviewers when neither global nor target has any.
    #[serde(default)]
    pub pr_team_reviewers: Vec<String>,
}

/// One target repository of a group.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// `owner/name` (GitHub) or a local path / `file://` URL.
    #[serde(default)]
    pub repo: String,
    /// Base branch of the sync (PR base); default: the repository's default branch.
    #[serde(default)]
    pub branch: Option<String>,
    /// Accepted for compatibility, unused.
    #[serde(default)]
    pub blob_size_limit: Option<String>,
    /// Files to copy or delete.
    #[serde(default)]
    pub files: Vec<FileMapping>,
    /// Directories to copy or delete.
    #[serde(default)]
    pub directories: Vec<DirectoryMapping>,
    /// Ids of `file_lists` merged into `files` (by dest; inline entries win).
    #[serde(default)]
    pub file_list_refs: Vec<String>,
    /// Ids of `directory_lists` merged into `directories` (by dest; inline entries win).
    #[serde(default)]
    pub directory_list_refs: Vec<String>,
    /// Transform for `files` of this target.
    #[serde(default)]
    pub transform: Transform,
    /// Overrides the source's security email in this target.
    #[serde(default)]
    pub security_email: Option<String>,
    /// Overrides the source's support email in this target.
    #[serde(default)]
    pub support_email: Option<String>,
    /// Labels merged with the group's global ones.
    #[serde(default)]
    pub pr_labels: Vec<String>,
    /// Assignees merged with the group's global ones.
    #[serde(default)]
    pub pr_assignees: Vec<String>,
    /// Reviewers merged with the group's global ones.
    #[serde(default)]
    pub pr_reviewers: Vec<String>,
    /// Team reviewers merged with the group's global ones.
    #[serde(default)]
    pub pr_team_reviewers: Vec<String>,
}

/// A file copied from the source (or deleted in the target).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileMapping {
    /// Path in the source repository; may be omitted when `delete: true`. `null` reads as `""`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub src: String,
    /// Path in the target repository. `null` reads as `""`.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub dest: String,
    /// Delete `dest` in the target instead of copying.
    #[serde(default)]
    pub delete: bool,
}

/// A directory copied from the source (or deleted in the target).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DirectoryMapping {
    /// Directory in the source repository (`.` = the root); required unless `delete: true`.
    /// Missing or `null` reads as `""`, which validation rejects with the field path.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub src: String,
    /// Directory in the target repository (`.` = the root); required.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub dest: String,
    /// Glob patterns to leave out. Omitted: the defaults (`*.out`, `*.test`, `*.exe`,
    /// `**/.DS_Store`, `**/tmp/*`, `**/.git`); a list replaces them.
    #[serde(default)]
    pub exclude: Option<Vec<String>>,
    /// When set, only paths matching one of these globs are copied.
    #[serde(default)]
    pub include_only: Vec<String>,
    /// Transform for the files of this directory (`None`: the key is absent; an explicit
    /// `transform: {}` says "copy as is" and silences the warning about the target's transform
    /// not applying here).
    #[serde(default)]
    pub transform: Option<Transform>,
    /// `false` flattens: `dest/<basename>`. Default `true`.
    #[serde(default)]
    pub preserve_structure: Option<bool>,
    /// `false` skips paths with a component starting with `.`. Default `true`.
    #[serde(default)]
    pub include_hidden: Option<bool>,
    /// go-broadcast's module-aware sync: accepted, not implemented (a warning says so).
    #[serde(default)]
    pub module: Option<ModuleConfig>,
    /// Delete every file under `dest` in the target (with `exclude` / `include_only`: only the
    /// files they select; excluded paths are kept).
    #[serde(default)]
    pub delete: bool,
    /// broadcast extension (not in go-broadcast v1): delete files under `dest` that this mapping
    /// owns (they pass its filters) and that the source no longer has.
    #[serde(default)]
    pub delete_orphaned: bool,
}

/// Reads a string written as `null` or `~` as `""`, so validation answers with the field path
/// and a human message instead of a type error.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// go-broadcast module settings (accepted for compatibility).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ModuleConfig {
    /// Module type (`go`).
    #[serde(default, rename = "type")]
    pub kind: String,
    /// Version constraint.
    #[serde(default)]
    pub version: String,
    /// Resolve through tags.
    #[serde(default)]
    pub check_tags: Option<bool>,
    /// Rewrite go.mod requires.
    #[serde(default)]
    pub update_refs: bool,
}

/// Content transforms of a mapping.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Transform {
    /// Rewrite the source repository's name to the target's.
    #[serde(default)]
    pub repo_name: bool,
    /// `{{NAME}}` / `${NAME}` replacements.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
}

/// A reusable list of file mappings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileList {
    /// Id referenced from `file_list_refs`.
    #[serde(default)]
    pub id: String,
    /// Display name (required).
    #[serde(default)]
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The mappings.
    #[serde(default)]
    pub files: Vec<FileMapping>,
}

/// A reusable list of directory mappings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryList {
    /// Id referenced from `directory_list_refs`.
    #[serde(default)]
    pub id: String,
    /// Display name (required).
    #[serde(default)]
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// The mappings.
    #[serde(default)]
    pub directories: Vec<DirectoryMapping>,
}

/// Pre-sync GitHub API budget gate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitPreflight {
    /// Default `true`.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Share of the remaining primary budget kept in reserve, 0..=100 (0 = default 20).
    #[serde(default)]
    pub primary_margin_percent: i64,
    /// Writes kept in reserve from the per-minute cap (0 = default 10).
    #[serde(default)]
    pub secondary_reserve: i64,
    /// Halt when the budget cannot be read.
    #[serde(default)]
    pub fail_closed: bool,
    /// broadcast extension: minimum time between two GitHub content-creating requests, in
    /// milliseconds (default 1000, GitHub's guidance; `0` turns the spacing off). For GitHub
    /// Enterprise Server instances that publish other limits. `--write-interval-ms` wins.
    #[serde(default)]
    pub write_interval_ms: Option<u64>,
}

/// Sync branch prefix when a group sets none: `<prefix>-<group id>` is the sync branch.
pub const DEFAULT_BRANCH_PREFIX: &str = "chore/sync-files";

impl Group {
    /// `defaults.branch_prefix`, or [`DEFAULT_BRANCH_PREFIX`] when unset or empty.
    pub fn branch_prefix(&self) -> &str {
        self.defaults
            .branch_prefix
            .as_deref()
            .filter(|p| !p.is_empty())
            .unwrap_or(DEFAULT_BRANCH_PREFIX)
    }

    /// The sync branch this group writes in each of its targets: `<branch_prefix>-<id>`.
    pub fn sync_branch(&self) -> String {
        format!("{}-{}", self.branch_prefix(), self.id)
    }
}
