//! Config → Plan: groups in run order, each target with its resolved mappings, transforms and
//! pull-request metadata. Pure: no I/O.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use broadcast_transform::{EmailRewrite, TransformSpec};

use crate::config::{self, Config, DirectoryMapping, Group, Target};
use crate::repo::RepoRef;

/// Default sync branch prefix (go-broadcast's current default).
pub use crate::config::DEFAULT_BRANCH_PREFIX;
/// Default source branch.
pub const DEFAULT_SOURCE_BRANCH: &str = "main";
/// Label used when neither `global` nor the target sets any and `defaults.pr_labels` is empty.
pub const DEFAULT_LABEL: &str = "automated-sync";

/// Everything one run will do, in order.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Groups in run order: dependencies first, then `priority` ascending, then `id`.
    pub groups: Vec<GroupPlan>,
}

/// One group, resolved.
#[derive(Debug, Clone)]
pub struct GroupPlan {
    /// Field path of the group in the config (`groups[1]`), for error messages.
    pub field: String,
    /// Group id.
    pub id: String,
    /// Group name.
    pub name: String,
    /// Source repository.
    pub source: RepoRef,
    /// The source string as written in the config (for reports and trailers).
    pub source_display: String,
    /// Source branch.
    pub source_branch: String,
    /// Sync branch written in every target: `<branch_prefix>-<group id>`.
    pub sync_branch: String,
    /// Group ids that must succeed first.
    pub depends_on: Vec<String>,
    /// Targets, in config order.
    pub targets: Vec<TargetPlan>,
}

/// A mapping of one source path (file) or subtree (directory) into the target.
#[derive(Debug, Clone, PartialEq)]
pub enum MappingPlan {
    /// Copy one file.
    File {
        /// Field path in the config, for error messages.
        field: String,
        /// Normalized source path.
        src: String,
        /// Normalized destination path.
        dest: String,
        /// Transform to apply (text files only).
        transform: TransformSpec,
    },
    /// Delete one file in the target (absent: nothing to do).
    DeleteFile {
        /// Field path in the config.
        field: String,
        /// Normalized destination path.
        dest: String,
    },
    /// Copy a directory.
    Directory {
        /// Field path in the config.
        field: String,
        /// Normalized source directory (`""` = the root).
        src: String,
        /// Normalized destination directory (`""` = the root).
        dest: String,
        /// `None` = default excludes.
        exclude: Option<Vec<String>>,
        /// Include-only globs (empty = everything).
        include_only: Vec<String>,
        /// Keep subdirectories (`false` = flatten to basenames).
        preserve_structure: bool,
        /// Copy paths with a component starting with `.`.
        include_hidden: bool,
        /// Delete files under `dest` that this mapping owns (they pass its filters) and that
        /// the source no longer has (`delete_orphaned: true`, a broadcast extension).
        delete_orphaned: bool,
        /// Transform to apply (text files only).
        transform: TransformSpec,
    },
    /// Delete files under a directory in the target: every file, or with filters only those
    /// they select (excluded paths are kept).
    DeleteDirectory {
        /// Field path in the config.
        field: String,
        /// Normalized destination directory.
        dest: String,
        /// Paths (relative to `dest`) to keep; `None` = keep nothing.
        exclude: Option<Vec<String>>,
        /// When not empty, only matching paths are deleted.
        include_only: Vec<String>,
    },
}

/// Pull-request metadata after go-broadcast's merge rules: `unique(global ++ target)`, falling
/// back to `defaults` only when that is empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrMetadata {
    /// Labels.
    pub labels: Vec<String>,
    /// Assignees.
    pub assignees: Vec<String>,
    /// Reviewers.
    pub reviewers: Vec<String>,
    /// Team reviewers.
    pub team_reviewers: Vec<String>,
}

/// One target, resolved.
#[derive(Debug, Clone)]
pub struct TargetPlan {
    /// Field path of the target in the config (`groups[0].targets[2]`), for error messages.
    pub field: String,
    /// Where the target lives.
    pub repo: RepoRef,
    /// The repo string as written in the config.
    pub display: String,
    /// Base branch; `None` = the repository's default branch.
    pub base_branch: Option<String>,
    /// Mappings in config order (later ones win on the same destination path).
    pub mappings: Vec<MappingPlan>,
    /// Pull-request metadata.
    pub pr: PrMetadata,
    /// Notes about the target's config for every report of it (e.g. a target-level transform
    /// that directory mappings do not inherit).
    pub warnings: Vec<String>,
}

/// Filters applied when building a plan (the CLI's `--groups`, `--skip-groups` and positional targets).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Keep only groups whose id or name is listed (empty = all).
    pub groups: Vec<String>,
    /// Drop groups whose id or name is listed (wins over `groups`).
    pub skip_groups: Vec<String>,
    /// Keep only targets whose repo string is listed (empty = all).
    pub targets: Vec<String>,
}

fn merge_unique(a: &[String], b: &[String], fallback: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    let mut out: Vec<String> = a
        .iter()
        .chain(b)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && seen.insert(s.clone()))
        .collect();
    if out.is_empty() {
        out = fallback
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty() && seen.insert(s.clone()))
            .collect();
    }
    out
}

fn transform_spec(t: &config::Transform, group: &Group, target: &Target) -> TransformSpec {
    let mut emails = Vec::new();
    for (src, dst) in [
        (&group.source.security_email, &target.security_email),
        (&group.source.support_email, &target.support_email),
    ] {
        if let (Some(s), Some(d)) = (src.as_deref(), dst.as_deref())
            && !s.is_empty()
            && !d.is_empty()
            && s != d
        {
            emails.push(EmailRewrite {
                from: s.to_owned(),
                to: d.to_owned(),
            });
        }
    }
    TransformSpec {
        repo_name: t.repo_name,
        variables: t.variables.clone(),
        emails,
    }
}

/// A path validation accepted, normalized; an error naming the field for a config that was not
/// validated (so no input can make `build` panic).
fn path(field: &str, key: &str, raw: &str, dir: bool) -> anyhow::Result<String> {
    config::normalize_path(raw, dir).map_err(|e| anyhow::anyhow!("{field}.{key}: {e}"))
}

fn dir_plan(
    field: String,
    d: &DirectoryMapping,
    group: &Group,
    target: &Target,
) -> anyhow::Result<MappingPlan> {
    let dest = path(&field, "dest", &d.dest, true)?;
    if d.delete {
        return Ok(MappingPlan::DeleteDirectory {
            field,
            dest,
            exclude: d.exclude.clone(),
            include_only: d.include_only.clone(),
        });
    }
    Ok(MappingPlan::Directory {
        src: path(&field, "src", &d.src, true)?,
        field,
        dest,
        exclude: d.exclude.clone(),
        include_only: d.include_only.clone(),
        preserve_structure: d.preserve_structure.unwrap_or(true),
        include_hidden: d.include_hidden.unwrap_or(true),
        delete_orphaned: d.delete_orphaned,
        transform: transform_spec(&d.transform.clone().unwrap_or_default(), group, target),
    })
}

/// go-broadcast semantics: a target-level `transform` applies to `files:` only. Users expect
/// otherwise, so a target with variables (or `repo_name`) and a directory mapping without a
/// transform of its own gets one warning.
fn inherit_warning(field: &str, target: &Target) -> Option<String> {
    let t = &target.transform;
    if t.variables.is_empty() && !t.repo_name {
        return None;
    }
    let bare: Vec<String> = target
        .directories
        .iter()
        .enumerate()
        .filter(|(_, d)| !d.delete && d.transform.is_none())
        .map(|(i, _)| format!("directories[{i}]"))
        .collect();
    (!bare.is_empty()).then(|| {
        format!(
            "{field}.transform applies to files: only, not to {} (go-broadcast semantics); give the directory mapping its own transform (transform: {{}} to copy as is)",
            bare.join(", ")
        )
    })
}

/// Builds the plan of a validated config. Disabled groups and groups or targets outside `scope`
/// are left out; a kept group whose dependency was left out runs as if that dependency succeeded.
///
/// Errors when the scope names a group or target that does not exist.
pub fn build(config: &Config, base_dir: &Path, scope: &Scope) -> anyhow::Result<Plan> {
    for name in scope.groups.iter().chain(&scope.skip_groups) {
        if !config
            .groups
            .iter()
            .any(|g| &g.id == name || &g.name == name)
        {
            let known: Vec<&str> = config.groups.iter().map(|g| g.id.as_str()).collect();
            anyhow::bail!(
                "no group has id or name '{name}'; groups: [{}]",
                known.join(", ")
            );
        }
    }
    let mut groups = Vec::new();
    let mut matched_targets = BTreeSet::new();
    for (gi, g) in config.groups.iter().enumerate() {
        let named = |list: &[String]| list.iter().any(|n| n == &g.id || n == &g.name);
        if named(&scope.skip_groups) || (!scope.groups.is_empty() && !named(&scope.groups)) {
            continue;
        }
        if g.enabled == Some(false) {
            continue;
        }
        let mut targets = Vec::new();
        for (ti, t) in g.targets.iter().enumerate() {
            if !scope.targets.is_empty() && !scope.targets.iter().any(|s| s == &t.repo) {
                continue;
            }
            matched_targets.insert(t.repo.clone());
            targets.push(target_plan(g, gi, t, ti, base_dir)?);
        }
        if targets.is_empty() {
            continue;
        }
        groups.push((
            g.priority,
            GroupPlan {
                field: format!("groups[{gi}]"),
                id: g.id.clone(),
                name: g.name.clone(),
                source: RepoRef::parse(&g.source.repo, base_dir).map_err(anyhow::Error::msg)?,
                source_display: g.source.repo.clone(),
                source_branch: g
                    .source
                    .branch
                    .clone()
                    .filter(|b| !b.is_empty())
                    .unwrap_or_else(|| DEFAULT_SOURCE_BRANCH.to_owned()),
                sync_branch: g.sync_branch(),
                depends_on: g.depends_on.clone(),
                targets,
            },
        ));
    }
    for t in &scope.targets {
        if !matched_targets.contains(t) {
            anyhow::bail!(
                "no target repo '{t}' in the selected groups (targets match the config's repo string exactly)"
            );
        }
    }
    Ok(Plan {
        groups: order_groups(groups),
    })
}

/// The plan of target `t` (index `ti`) of group `g` (index `gi`).
fn target_plan(
    g: &Group,
    gi: usize,
    t: &Target,
    ti: usize,
    base_dir: &Path,
) -> anyhow::Result<TargetPlan> {
    let mut mappings = Vec::new();
    for (fi, f) in t.files.iter().enumerate() {
        let field = format!("groups[{gi}].targets[{ti}].files[{fi}]");
        let dest = path(&field, "dest", &f.dest, false)?;
        if f.delete {
            mappings.push(MappingPlan::DeleteFile { field, dest });
        } else {
            mappings.push(MappingPlan::File {
                src: path(&field, "src", &f.src, false)?,
                field,
                dest,
                transform: transform_spec(&t.transform, g, t),
            });
        }
    }
    for (di, d) in t.directories.iter().enumerate() {
        let field = format!("groups[{gi}].targets[{ti}].directories[{di}]");
        mappings.push(dir_plan(field, d, g, t)?);
    }
    let default_labels = if g.defaults.pr_labels.is_empty() {
        vec![DEFAULT_LABEL.to_owned()]
    } else {
        g.defaults.pr_labels.clone()
    };
    let field = format!("groups[{gi}].targets[{ti}]");
    Ok(TargetPlan {
        warnings: inherit_warning(&field, t).into_iter().collect(),
        field,
        repo: RepoRef::parse(&t.repo, base_dir).map_err(anyhow::Error::msg)?,
        display: t.repo.clone(),
        base_branch: t.branch.clone().filter(|b| !b.is_empty()),
        mappings,
        pr: PrMetadata {
            labels: merge_unique(&g.global.pr_labels, &t.pr_labels, &default_labels),
            assignees: merge_unique(
                &g.global.pr_assignees,
                &t.pr_assignees,
                &g.defaults.pr_assignees,
            ),
            reviewers: merge_unique(
                &g.global.pr_reviewers,
                &t.pr_reviewers,
                &g.defaults.pr_reviewers,
            ),
            team_reviewers: merge_unique(
                &g.global.pr_team_reviewers,
                &t.pr_team_reviewers,
                &g.defaults.pr_team_reviewers,
            ),
        },
    })
}

/// Kahn's algorithm; among ready groups the lowest (priority, id) goes first. Dependencies that
/// are not in the set are treated as satisfied.
fn order_groups(groups: Vec<(i64, GroupPlan)>) -> Vec<GroupPlan> {
    let ids: BTreeSet<String> = groups.iter().map(|(_, g)| g.id.clone()).collect();
    let mut indegree: BTreeMap<String, usize> = BTreeMap::new();
    let mut dependents: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (_, g) in &groups {
        let deps: BTreeSet<&String> = g.depends_on.iter().filter(|d| ids.contains(*d)).collect();
        indegree.insert(g.id.clone(), deps.len());
        for d in deps {
            dependents.entry(d.clone()).or_default().push(g.id.clone());
        }
    }
    let mut by_id: BTreeMap<String, (i64, GroupPlan)> = groups
        .into_iter()
        .map(|(p, g)| (g.id.clone(), (p, g)))
        .collect();
    let mut ready: Vec<(i64, String)> = by_id
        .iter()
        .filter(|(id, _)| indegree[*id] == 0)
        .map(|(id, (p, _))| (*p, id.clone()))
        .collect();
    let mut out = Vec::new();
    while !ready.is_empty() {
        ready.sort();
        let (_, id) = ready.remove(0);
        for dep in dependents.get(&id).cloned().unwrap_or_default() {
            let n = indegree.get_mut(&dep).expect("every group has an indegree");
            *n -= 1;
            if *n == 0 {
                ready.push((by_id[&dep].0, dep.clone()));
            }
        }
        out.push(by_id.remove(&id).expect("ready ids are present").1);
    }
    // Validation rejects cycles; anything left would be a cycle: append in id order.
    out.extend(by_id.into_values().map(|(_, g)| g));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_rules_follow_go_broadcast() {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            merge_unique(&s(&["a", "b"]), &s(&["b", "c"]), &s(&["d"])),
            s(&["a", "b", "c"])
        );
        assert_eq!(merge_unique(&s(&[]), &s(&[" "]), &s(&["d"])), s(&["d"]));
        assert_eq!(merge_unique(&s(&[]), &s(&["x"]), &s(&["d"])), s(&["x"]));
    }

    fn plan_of(yaml: &str) -> anyhow::Result<Plan> {
        let config =
            config::parse_str(yaml, Path::new("/")).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        build(&config, Path::new("/"), &Scope::default())
    }

    #[test]
    fn a_target_transform_not_inherited_by_directories_warns_once() {
        let yaml = |dirs: &str| {
            format!(
                "version: 1\ngroups:\n  - name: g\n    id: g\n    source: {{repo: ./t}}\n    targets:\n      - repo: ./a\n        transform: {{variables: {{NAME: a}}}}\n        files: [{{src: f, dest: f}}]\n        directories: {dirs}\n"
            )
        };
        let rows = [
            (
                "[{src: x, dest: x}, {src: y, dest: y}]",
                Some("directories[0], directories[1]"),
            ),
            ("[{src: x, dest: x, transform: {repo_name: true}}]", None),
            ("[{src: x, dest: x, transform: {}}]", None),
            ("[{dest: old, delete: true}]", None),
            ("[]", None),
        ];
        for (dirs, want) in rows {
            let plan = plan_of(&yaml(dirs)).unwrap();
            let w = &plan.groups[0].targets[0].warnings;
            match want {
                Some(names) => {
                    assert_eq!(w.len(), 1, "{dirs}: {w:?}");
                    assert!(
                        w[0].starts_with(
                            "groups[0].targets[0].transform applies to files: only, not to "
                        ),
                        "{w:?}"
                    );
                    assert!(w[0].contains(names), "{dirs}: {w:?}");
                }
                None => assert!(w.is_empty(), "{dirs}: {w:?}"),
            }
        }
    }

    #[test]
    fn build_reports_bad_paths_of_an_unvalidated_config_instead_of_panicking() {
        let yaml = "version: 1\ngroups:\n  - name: g\n    id: g\n    source: {repo: ./t}\n    targets: [{repo: ./a, files: [{src: ../x, dest: y}]}]\n";
        // Straight from serde: no validation ran.
        let config: Config = serde_saphyr::from_str(yaml).unwrap();
        let err = build(&config, Path::new("/"), &Scope::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("groups[0].targets[0].files[0].src: "),
            "{err}"
        );
    }
}

// Lives beside the config loader it exercises; declared here because it drives plan too (a
// `config` child importing `plan` would make a module cycle).
#[cfg(test)]
#[path = "config/fuzz_props.rs"]
mod config_fuzz_props;
